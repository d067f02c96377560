"""The reusable parts of /openapi.json: body shapes, and the responses many operations share.

Some of those responses come from gunicorn, not the app: it refuses a request it cannot parse,
or one over its limits, while reading it, with its own text/html page. They are documented
with that media type because a client can really get them (docs/api.md, "Request limits").
"""

from app import gunicorn_limits
from app.api import MAX_LIST_LIMIT
from app.problems import PROBLEM_JSON
from app.url_checks import MAX_URL_LENGTH
from app.validation import MAX_KEY_LENGTH, MAX_TTL_SECONDS

SECURITY_SCHEME = "bearerToken"
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
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


def ref(kind: str, name: str) -> dict:
    """A reference to components/<kind>/<name>."""
    return {"$ref": f"#/components/{kind}/{name}"}


def content(media_type: str, schema_name: str) -> dict:
    """One media type of a response, its body described by a named schema."""
    return {media_type: {"schema": ref("schemas", schema_name)}}


def response(description: str, media_type: str, schema_name: str) -> dict:
    """A response with one media type."""
    return {"description": description, "content": content(media_type, schema_name)}


def schemas(max_value_bytes: int) -> dict:
    """components/schemas, with this deployment's value size limit."""
    value = {"type": "string", "description": f"At most {max_value_bytes} bytes of UTF-8."}
    return {
        "Entry": {
            "type": "object",
            "required": ["key", "value", "ttl"],
            "properties": {"key": KEY, "value": {"type": "string"}, "ttl": TTL_LEFT},
        },
        "PutBody": {
            "type": "object",
            "required": ["value"],
            "additionalProperties": False,
            "properties": {
                "value": value,
                "ttl": {**TTL, "description": "Seconds until the key expires; absent: never."},
            },
        },
        "KeyList": {
            "type": "object",
            "required": ["keys", "next_cursor"],
            "properties": {
                "keys": {"type": "array", "items": KEY, "maxItems": MAX_LIST_LIMIT},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; detail says what to change.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        },
        "Health": {
            "type": "object",
            "required": ["status", "version", "revision", "hostname"],
            "properties": {
                name: {"type": "string"} for name in ("status", "version", "revision", "hostname")
            },
        },
        "Readiness": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": ["ready", "unavailable"]},
                "detail": {"type": "string"},
            },
        },
    }


# gunicorn's own short page; no schema, as there is nothing in it for a client to read.
GUNICORN_PAGE: dict[str, dict] = {"text/html": {}}


def _from_app_or_gunicorn(description: str) -> dict:
    return {
        "description": description,
        "content": {**content(PROBLEM_JSON, "Problem"), **GUNICORN_PAGE},
    }


def _from_gunicorn(description: str) -> dict:
    return {"description": f"{description} (gunicorn, before the app).", "content": GUNICORN_PAGE}


# Shared by every operation: what the app or gunicorn answer whatever the path and method.
REFUSALS = {
    "BadRequest": _from_app_or_gunicorn(
        "Malformed request. problem+json from the app: a bad key, body, field or query"
        " parameter, or a URL that is not UTF-8 once its %-escapes are decoded. text/html"
        " from gunicorn, before the app: a request line or header it cannot parse."
    ),
    "UriTooLong": _from_app_or_gunicorn(
        f"URL too long. problem+json from the app: over {MAX_URL_LENGTH} characters of"
        " path and query. text/html from gunicorn, before the app: a request line (method,"
        f" URL, version) over {gunicorn_limits.LIMIT_REQUEST_LINE} bytes."
    ),
    "ExpectationFailed": _from_gunicorn("An Expect header other than 100-continue"),
    "HeaderFieldsTooLarge": _from_gunicorn(
        f"More than {gunicorn_limits.LIMIT_REQUEST_FIELDS} header fields, or a header line over"
        f" {gunicorn_limits.LIMIT_REQUEST_FIELD_SIZE} bytes"
    ),
    "TransferCodingNotImplemented": _from_gunicorn("A Transfer-Encoding it does not know"),
}
REFUSAL_STATUSES = {
    "400": "BadRequest",
    "414": "UriTooLong",
    "417": "ExpectationFailed",
    "431": "HeaderFieldsTooLarge",
    "501": "TransferCodingNotImplemented",
}


def responses() -> dict:
    """components/responses: the refusals, and the API's not-found and Redis-down answers."""
    return {
        **REFUSALS,
        "NotFound": response("No value is stored under this key.", PROBLEM_JSON, "Problem"),
        "Unavailable": {
            **response(
                "Redis cannot be reached; retry after the Retry-After header's seconds.",
                PROBLEM_JSON,
                "Problem",
            ),
            "headers": RETRY_AFTER,
        },
    }


def security_schemes() -> dict:
    """components/securitySchemes: the API's bearer token (API_TOKENS_FILE)."""
    return {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "One of the tokens of the server's API_TOKENS_FILE.",
        }
    }


def token_responses() -> dict:
    """components/responses of an API that needs a token: no or a wrong one, too many wrong."""
    return {
        "Unauthorized": {
            **response("No bearer token, or a wrong one.", PROBLEM_JSON, "Problem"),
            "headers": {
                "WWW-Authenticate": {
                    "description": 'The challenge: Bearer realm="dockerapp".',
                    "schema": {"type": "string"},
                }
            },
        },
        "TooManyFailures": {
            **response(
                "Too many requests with a wrong token from this address (10 a minute); every"
                " request from it, right token or not, gets this until Retry-After has passed.",
                PROBLEM_JSON,
                "Problem",
            ),
            "headers": RETRY_AFTER,
        },
    }
