"""The JSON API under /api/v1: keys and their values, with optional expiry."""

from flask import Blueprint, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import BadRequest
from werkzeug.routing import PathConverter

from app.bearer import require_token
from app.store import Entry, current_store
from app.validation import InvalidInput, check_key, check_ttl, check_value

MAX_LIST_LIMIT = 1000
DEFAULT_LIST_LIMIT = 100
PUT_FIELDS = frozenset({"value", "ttl"})

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
blueprint.before_request(require_token)  # every API request needs a token, where tokens are on


class KeyConverter(PathConverter):
    """A key in the URL: any characters, "/" too, even leading (percent-encoded as %2F)."""

    regex = r"[\s\S]+"
    part_isolating = False  # the key may span several "/"-separated path segments


def entry_body(key: str, entry: Entry) -> dict:
    """The JSON shape of one key."""
    return {"key": key, "value": entry.value, "ttl": entry.ttl}


@blueprint.get("/keys")
def list_keys() -> Response:
    """List keys, a page at a time: ?prefix=&cursor=&limit=."""
    prefix = request.args.get("prefix", "")
    if prefix:
        check_key(prefix)
    limit = _limit(request.args.get("limit", str(DEFAULT_LIST_LIMIT)))
    keys, next_cursor = current_store().list_keys(prefix, request.args.get("cursor"), limit)
    return jsonify(keys=keys, next_cursor=next_cursor)


@blueprint.get("/keys/<key:key>")
def get_key(key: str) -> Response:
    """Read one key."""
    entry = current_store().get(check_key(key))
    if entry is None:
        abort(404, description=f"no value is stored under key {key!r}")
    return jsonify(entry_body(key, entry))


@blueprint.put("/keys/<key:key>")
def put_key(key: str) -> tuple[Response, int]:
    """Create or replace one key: 201 when created, 200 when replaced."""
    check_key(key)
    body = _json_object()
    unknown = sorted(set(body) - PUT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    if "value" not in body:
        raise InvalidInput("field 'value' is required")
    value = check_value(body["value"], current_app.config["MAX_VALUE_BYTES"])
    ttl = check_ttl(body.get("ttl"))
    created = current_store().put(key, value, ttl)
    return jsonify(entry_body(key, Entry(value, ttl))), 201 if created else 200


@blueprint.delete("/keys/<key:key>")
def delete_key(key: str) -> tuple[str, int]:
    """Delete one key."""
    if not current_store().delete(check_key(key)):
        abort(404, description=f"no value is stored under key {key!r}")
    return "", 204


def _json_object() -> dict:
    if not request.is_json:
        abort(415, description="the body must be JSON (Content-Type: application/json)")
    try:
        body = request.get_json()
    except BadRequest:
        raise InvalidInput("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    return body


def _limit(raw: str) -> int:
    # isdecimal() alone would let through digits of other scripts, which int() also reads.
    if not (raw.isascii() and raw.isdecimal() and 1 <= int(raw) <= MAX_LIST_LIMIT):
        raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LIST_LIMIT}")
    return int(raw)
