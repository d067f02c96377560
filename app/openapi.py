"""/openapi.json: the OpenAPI 3.1 description of the JSON API and the health endpoints.

tests/browser/test_openapi_contract.py runs schemathesis against it to keep it true.
"""

from flask import Blueprint, Response, current_app, jsonify

from app.api import MAX_LIST_LIMIT
from app.validation import MAX_KEY_LENGTH, MAX_TTL_SECONDS

blueprint = Blueprint("openapi", __name__)

NO_CONTROL_CHARACTERS = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"
KEY = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_KEY_LENGTH,
    "pattern": NO_CONTROL_CHARACTERS,
    "description": "Any printable Unicode, spaces and / included (percent-encoded in URLs).",
}
TTL = {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_TTL_SECONDS}
# What GET reports: Redis rounds the time left, so a key in its last half second shows 0.
TTL_LEFT = {**TTL, "minimum": 0}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str, media_type: str = "application/json") -> dict:
    return {"description": description, "content": {media_type: {"schema": schema}}}


def _problem(description: str) -> dict:
    return _json(_ref("Problem"), description, "application/problem+json")


KEY_PARAMETER = {"name": "key", "in": "path", "required": True, "schema": KEY}
BAD_REQUEST = _problem("Malformed request (key, JSON or fields).")
NOT_FOUND = _problem("No value is stored under this key.")
UNAVAILABLE = {
    **_problem("Redis cannot be reached; retry after the Retry-After header's seconds."),
    "headers": {"Retry-After": {"schema": {"type": "string"}}},
}


def build_document(max_value_bytes: int) -> dict:
    """The OpenAPI document, with this deployment's value size limit."""
    entry = {
        "type": "object",
        "required": ["key", "value", "ttl"],
        "properties": {"key": KEY, "value": {"type": "string"}, "ttl": TTL_LEFT},
    }
    put_body = {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "value": {
                "type": "string",
                "description": f"At most {max_value_bytes} bytes of UTF-8.",
            },
            "ttl": {**TTL, "description": "Seconds until the key expires; absent: never."},
        },
    }
    key_list = {
        "type": "object",
        "required": ["keys", "next_cursor"],
        "properties": {
            "keys": {"type": "array", "items": KEY, "maxItems": MAX_LIST_LIMIT},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
    problem = {
        "type": "object",
        "required": ["type", "title", "status", "detail"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
        },
    }
    health = {
        "type": "object",
        "required": ["status", "version", "revision", "hostname"],
        "properties": {
            name: {"type": "string"} for name in ("status", "version", "revision", "hostname")
        },
    }
    list_parameters = [
        {"name": "prefix", "in": "query", "schema": {**KEY, "minLength": 0}},
        {
            "name": "cursor",
            "in": "query",
            "schema": {"type": "string", "pattern": "^([0-9]{1,19}-[0-9]{1,9})?$"},
        },
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT},
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {"title": "dockerapp", "version": "1.0.0"},
        "paths": {
            "/api/v1/keys": {
                "get": {
                    "summary": "List keys a page at a time (SCAN); follow next_cursor until null.",
                    "parameters": list_parameters,
                    "responses": {
                        "200": _json(_ref("KeyList"), "A page of keys."),
                        "400": BAD_REQUEST,
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/api/v1/keys/{key}": {
                "parameters": [KEY_PARAMETER],
                "get": {
                    "summary": "Read a key.",
                    "responses": {
                        "200": _json(_ref("Entry"), "The value and its remaining TTL."),
                        "400": BAD_REQUEST,
                        "404": NOT_FOUND,
                        "503": UNAVAILABLE,
                    },
                },
                "put": {
                    "summary": "Create or replace a key.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("PutBody")}},
                    },
                    "responses": {
                        "200": _json(_ref("Entry"), "Replaced."),
                        "201": _json(_ref("Entry"), "Created."),
                        "400": BAD_REQUEST,
                        "413": _problem("Value or body too large."),
                        "415": _problem("The body is not JSON."),
                        "503": UNAVAILABLE,
                    },
                },
                "delete": {
                    "summary": "Delete a key.",
                    "responses": {
                        "204": {"description": "Deleted."},
                        "400": BAD_REQUEST,
                        "404": NOT_FOUND,
                        "503": UNAVAILABLE,
                    },
                },
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness; no Redis call.",
                    "responses": {"200": _json(_ref("Health"), "The process serves.")},
                }
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness: Redis answers PING.",
                    "responses": {
                        "200": _json({"type": "object"}, "Ready."),
                        "503": _json({"type": "object"}, "Redis cannot be reached."),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Entry": entry,
                "PutBody": put_body,
                "KeyList": key_list,
                "Problem": problem,
                "Health": health,
            }
        },
    }


@blueprint.get("/openapi.json")
def openapi_document() -> Response:
    """Serve the OpenAPI document."""
    return jsonify(build_document(current_app.config["MAX_VALUE_BYTES"]))
