"""Errors as RFC 9457 problem details for the API, and as small HTML pages for people."""

import logging

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from limits.errors import StorageError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from app.store import InvalidCursor, StorageUnavailable
from app.validation import InvalidInput

PROBLEM_JSON = "application/problem+json"
# The JSON endpoints outside /api/: their errors are problem+json too, as the API's are.
JSON_PATHS = frozenset({"/openapi.json", "/healthz", "/readyz"})
RETRY_AFTER_SECONDS = "5"  # how soon a client may try again when Redis is away
log = logging.getLogger("dockerapp.errors")


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    """An application/problem+json response; "about:blank" means the status says it all."""
    response = jsonify(
        type="about:blank", title=HTTP_STATUS_CODES[status], status=status, detail=detail
    )
    response.status_code = status
    response.content_type = PROBLEM_JSON
    response.headers.update(headers or {})
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in JSON_PATHS


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    if _wants_json():
        return problem(status, detail, headers)
    html = render_template("error.html", title=HTTP_STATUS_CODES[status], detail=detail)
    return Response(html, status, headers)


def init_app(app: Flask) -> None:
    """Answer every error in the format the client asked for, never with a traceback."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        # Redis failing in an after_request hook (the rate limits' count) lands here as a 500.
        original = getattr(error, "original_exception", None)
        if isinstance(original, StorageUnavailable | StorageError):
            return storage_unavailable(original)
        # Keep headers such as Allow (405); the body is ours.
        headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return _error(error.code or 500, error.description or "", headers)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> Response:
        detail = f"{error.description} Reload the page and try again."
        return _error(400, detail)

    @app.errorhandler(InvalidInput)
    def invalid_input(error: InvalidInput) -> Response:
        return _error(error.status, str(error))

    @app.errorhandler(InvalidCursor)
    def invalid_cursor(error: InvalidCursor) -> Response:
        return _error(400, str(error))

    @app.errorhandler(StorageUnavailable)
    @app.errorhandler(StorageError)  # the rate limits' Redis (app/rate_limits.py)
    def storage_unavailable(error: StorageUnavailable | StorageError) -> Response:
        log.warning("storage unavailable: %s", error)
        detail = "Storage is unavailable right now; please try again in a few seconds."
        return _error(503, detail, {"Retry-After": RETRY_AFTER_SECONDS})

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> Response:
        log.exception("unhandled error")
        return _error(500, InternalServerError.description)
