"""X-Request-ID and the start time of each request, set once where the request enters the app.

WSGI middleware rather than Flask hooks: the id then exists before Flask runs (so even a
request Flask refuses is logged with it), and no Flask hook pays for it per request.
"""

import os
import re
import time
from collections.abc import Callable, Iterable

from flask import has_request_context, request

HEADER = "X-Request-ID"
REQUEST_ID = "dockerapp.request_id"  # WSGI environ keys
STARTED_AT = "dockerapp.started_at"  # time.perf_counter() when the request arrived
# Letters, digits and a few separators: enough for UUIDs and tracing ids, and nothing that
# could split a header or a log line.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request.environ.get(REQUEST_ID) if has_request_context() else None


class RequestId:
    """WSGI middleware: keep a well-formed incoming id, otherwise make one; echo it back."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[STARTED_AT] = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        # 128 random bits as 32 hex digits, like a UUID's hex form, at a fraction of its cost.
        request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        environ[REQUEST_ID] = request_id

        def start_with_id(status, headers, exc_info=None):
            return start_response(status, [*headers, (HEADER, request_id)], exc_info)

        return self.wsgi_app(environ, start_with_id)
