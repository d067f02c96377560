"""The paths of /openapi.json: each operation, its parameters and its responses."""

from app.api import MAX_LIST_LIMIT
from app.openapi.components import KEY, REFUSAL_STATUSES, SECURITY_SCHEME, ref, response
from app.problems import PROBLEM_JSON

KEY_PARAMETER = {
    "name": "key",
    "in": "path",
    "required": True,
    "description": "The key, percent-encoded: a/b is a%2Fb.",
    "schema": KEY,
}
LIST_PARAMETERS = [
    {
        "name": "prefix",
        "in": "query",
        "description": "Only keys that start with this text, matched literally (* is no pattern).",
        "schema": {**KEY, "minLength": 0},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "next_cursor of the previous page; absent for the first page.",
        "schema": {"type": "string", "pattern": "^([0-9]{1,19}-[0-9]{1,9})?$"},
    },
    {
        "name": "limit",
        "in": "query",
        "description": "The most keys one page may hold (default 100).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT},
    },
]


def operation(operation_id: str, tag: str, summary: str, description: str, answers: dict) -> dict:
    """An operation whose responses are `answers` plus the refusals every operation can get."""
    refusals = {status: ref("responses", name) for status, name in REFUSAL_STATUSES.items()}
    return {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": description,
        "responses": {**refusals, **answers},
    }


def guarded(operation_: dict) -> dict:
    """An API operation that needs a bearer token: its security, and the 401 and 429 answers."""
    answers = {
        "401": ref("responses", "Unauthorized"),
        "429": ref("responses", "TooManyFailures"),
        **operation_["responses"],
    }
    return {**operation_, "security": [{SECURITY_SCHEME: []}], "responses": answers}


def paths(tokens_required: bool) -> dict:
    """Every documented path and its operations; the API's need a token if `tokens_required`."""
    api = guarded if tokens_required else (lambda operation_: operation_)
    entry = response(
        "The value and its remaining TTL in seconds (null: none).", "application/json", "Entry"
    )
    not_found, unavailable = ref("responses", "NotFound"), ref("responses", "Unavailable")
    return {
        "/api/v1/keys": {
            "get": {
                **api(
                    operation(
                        "listKeys",
                        "keys",
                        "List keys, a page at a time.",
                        "Walks the keys with Redis SCAN. Follow next_cursor until it is null;"
                        " a page may hold fewer keys than limit, even none, before the end. A"
                        " key changed during the walk may be missed or repeated.",
                        {
                            "200": response("A page of keys.", "application/json", "KeyList"),
                            "503": unavailable,
                        },
                    )
                ),
                "parameters": LIST_PARAMETERS,
            }
        },
        "/api/v1/keys/{key}": {
            "parameters": [KEY_PARAMETER],
            "get": api(
                operation(
                    "getKey",
                    "keys",
                    "Read a key.",
                    "Returns the value stored under the key and the seconds it has left.",
                    {"200": entry, "404": not_found, "503": unavailable},
                )
            ),
            "put": {
                **api(
                    operation(
                        "putKey",
                        "keys",
                        "Create or replace a key.",
                        "Stores the value under the key: 201 when the key is new, 200 when it"
                        " replaced a value. Without ttl the key never expires, even if it did"
                        " before.",
                        {
                            "200": {**entry, "description": "Replaced."},
                            "201": {**entry, "description": "Created."},
                            "413": response("Value or body too large.", PROBLEM_JSON, "Problem"),
                            "415": response("The body is not JSON.", PROBLEM_JSON, "Problem"),
                            "503": unavailable,
                        },
                    )
                ),
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("schemas", "PutBody")}},
                },
            },
            "delete": api(
                operation(
                    "deleteKey",
                    "keys",
                    "Delete a key.",
                    "Removes the key and its value; 404 when there was none.",
                    {"204": {"description": "Deleted."}, "404": not_found, "503": unavailable},
                )
            ),
        },
        "/healthz": {
            "get": operation(
                "checkLiveness",
                "health",
                "Liveness; no Redis call.",
                "Answers while the process serves, with its version, revision and host name."
                " It never calls Redis, so a Redis outage never gets the app restarted.",
                {"200": response("The process serves.", "application/json", "Health")},
            )
        },
        "/readyz": {
            "get": operation(
                "checkReadiness",
                "health",
                "Readiness: Redis answers PING.",
                "200 when Redis answers PING within the store's timeouts, else 503, so a load"
                " balancer sends traffic only to replicas that can serve it.",
                {
                    "200": response("Ready.", "application/json", "Readiness"),
                    "503": response("Redis cannot be reached.", "application/json", "Readiness"),
                },
            )
        },
    }
