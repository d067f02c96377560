"""/openapi.json: the OpenAPI 3.1 description of the JSON API and the health endpoints.

tests/browser/test_openapi_contract.py and `make proof` run schemathesis against it to keep it
true; tests/openapi/ lints it with spectral. paths.py has the operations, components.py the
shapes and responses they share.
"""

from flask import Blueprint, Response, current_app, jsonify

from app.openapi.components import responses, schemas, security_schemes, token_responses
from app.openapi.paths import paths

blueprint = Blueprint("openapi", __name__)

INFO = {
    "title": "dockerapp",
    "version": "1.0.0",
    "description": (
        "A key-value store over HTTP, kept in Redis, with health endpoints. Errors are"
        " application/problem+json (RFC 9457), except the few that gunicorn answers itself,"
        " as text/html, before the app sees the request: each operation lists both."
    ),
    "contact": {"name": "The dockerapp authors"},
    "license": {"name": "MIT", "url": "https://spdx.org/licenses/MIT.html"},
}
TAGS = [
    {
        "name": "health",
        "description": "Liveness and readiness, for load balancers and orchestrators.",
    },
    {"name": "keys", "description": "Keys and their string values, with an optional expiry."},
]


def build_document(max_value_bytes: int, tokens_required: bool) -> dict:
    """The OpenAPI document of this deployment: its value size limit, and whether the API
    needs a bearer token (with API_TOKENS_FILE; without it, in development, it is open)."""
    components = {"schemas": schemas(max_value_bytes), "responses": responses()}
    if tokens_required:
        components["securitySchemes"] = security_schemes()
        components["responses"].update(token_responses())
    return {
        "openapi": "3.1.0",
        "info": INFO,
        # Relative: the API lives on the same origin as this document, whatever its address.
        "servers": [{"url": "/", "description": "The server that serves this document."}],
        "tags": TAGS,
        "paths": paths(tokens_required),
        "components": components,
    }


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    """Serve the OpenAPI document."""
    tokens_required = current_app.extensions["settings"].api_tokens is not None
    return jsonify(build_document(current_app.config["MAX_VALUE_BYTES"], tokens_required))
