"""X-Request-ID: keep a well-formed incoming one, otherwise make one, and echo it back."""

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
# Letters, digits and a few separators: enough for UUIDs and tracing ids, and nothing that
# could split a header or a log line.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return g.get("request_id")


def init_app(app: Flask) -> None:
    """Give every request an id, available as g.request_id and in the response header."""

    @app.before_request
    def assign_request_id() -> None:
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[HEADER] = g.get("request_id") or uuid.uuid4().hex
        return response
