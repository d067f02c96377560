"""The WSGI middleware around the Flask app: security headers, the request id, the access line.

create_app() wraps them in this order, outermost first (wrap() below):

    SecurityHeaders(RequestId(AccessLog(flask_app)))

It is the order in which a request meets them: the headers every response gets; the request's
id and start time, set before anything inside runs, so that the app's own log lines and the
metrics (app/metrics.py) can use them; innermost, next to the app, the line that reports what
the app answered, with that id and the time since that start. Each wrapper only adds response
headers or environ entries, and the access line is written once the app inside has returned,
so no other order among the three would change what they produce.

WSGI middleware rather than Flask hooks: each runs before Flask looks at the request (so even a
request that Flask refuses has an id and an access line), and costs a fraction of a hook per
request. The headers never vary, so appending one fixed list in start_response costs almost
nothing, where setting them one by one on each Flask response showed up in the benchmark.
"""

import logging
import os
import re
import time
from collections.abc import Callable, Iterable

from flask import has_request_context, request

# The page needs nothing but its own stylesheet and to post its own form.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # for browsers that predate frame-ancestors
    # Same-origin requests keep their Referer: Flask-WTF refuses a form posted over HTTPS
    # without one (WTF_CSRF_SSL_STRICT). Other origins get none.
    ("Referrer-Policy", "same-origin"),
]

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = "dockerapp.request_id"  # WSGI environ keys
STARTED_AT = "dockerapp.started_at"  # time.perf_counter() when the request arrived
# Letters, digits and a few separators: enough for UUIDs and tracing ids, and nothing that
# could split a header or a log line.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+/=-]{1,128}")

# Under the app's logger, which app/logs.py sends to stdout as JSON lines.
access_log = logging.getLogger("dockerapp.access")


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request.environ.get(REQUEST_ID) if has_request_context() else None


class SecurityHeaders:
    """Add SECURITY_HEADERS to every response."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start_with_headers(status, headers, exc_info=None):
            return start_response(status, headers + SECURITY_HEADERS, exc_info)

        return self.wsgi_app(environ, start_with_headers)


class RequestId:
    """Keep a well-formed incoming X-Request-ID, otherwise make one; echo it back.

    Also notes when the request arrived (STARTED_AT), for the access line and the metrics.
    """

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        environ[STARTED_AT] = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        # 128 random bits as 32 hex digits, like a UUID's hex form, at a fraction of its cost.
        request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()
        environ[REQUEST_ID] = request_id

        def start_with_id(status, headers, exc_info=None):
            return start_response(status, [*headers, (REQUEST_ID_HEADER, request_id)], exc_info)

        return self.wsgi_app(environ, start_with_id)


class AccessLog:
    """One access line per request, written when the response is ready."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not access_log.isEnabledFor(logging.INFO):
            return self.wsgi_app(environ, start_response)
        status = "500"  # a fallback: Flask has always started the response when it returns

        def start_noting_status(status_line, headers, exc_info=None):
            nonlocal status
            status = status_line
            return start_response(status_line, headers, exc_info)

        body = self.wsgi_app(environ, start_noting_status)
        method = environ.get("REQUEST_METHOD", "")
        # WSGI gives the path as latin-1 characters of the raw bytes; people read UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")
        started = environ.get(STARTED_AT) or time.perf_counter()
        access_log.info(
            "%s %s %s",
            method,
            path,
            status[:3],
            extra={
                "request_id": environ.get(REQUEST_ID),
                "method": method,
                "path": path,
                "status": int(status[:3]),
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "remote_addr": environ.get("REMOTE_ADDR"),
            },
        )
        return body


def wrap(wsgi_app: Callable) -> Callable:
    """`wsgi_app` inside the three wrappers, in the order the module docstring explains."""
    return SecurityHeaders(RequestId(AccessLog(wsgi_app)))
