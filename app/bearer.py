"""The JSON API's credential: `Authorization: Bearer <token>`, a token from API_TOKENS_FILE."""

from flask import Response, current_app, request

from app.credentials import token_is_valid
from app.problems import problem

# RFC 6750's challenge; the same for a missing and a wrong token.
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dockerapp"'}


def require_token() -> Response | None:
    """Before each API request: 401 unless it carries a valid token (open without a file).

    The answer never repeats the token, and the access log holds no headers.
    """
    tokens = current_app.extensions["settings"].api_tokens
    if tokens is None:
        return None
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "This API needs a header Authorization: Bearer <token>.", CHALLENGE)
    if not token_is_valid(token.strip(), tokens):
        return problem(401, "The bearer token is not valid.", CHALLENGE)
    return None
