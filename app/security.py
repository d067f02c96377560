"""Security headers on every response, added at the WSGI layer.

The headers never vary, so a plain list appended in start_response costs almost nothing,
where setting them one by one on each Flask response object showed up in the benchmark.
"""

from collections.abc import Callable, Iterable

# The page needs nothing but its own stylesheet and to post its own form.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # for browsers that predate frame-ancestors
    # Same-origin requests keep their Referer: Flask-WTF refuses a form posted over HTTPS
    # without one (WTF_CSRF_SSL_STRICT). Other origins get none.
    ("Referrer-Policy", "same-origin"),
]


class SecurityHeaders:
    """WSGI middleware: `app.wsgi_app = SecurityHeaders(app.wsgi_app)`."""

    def __init__(self, wsgi_app: Callable):
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def start_with_headers(status, headers, exc_info=None):
            return start_response(status, headers + HEADERS, exc_info)

        return self.wsgi_app(environ, start_with_headers)
