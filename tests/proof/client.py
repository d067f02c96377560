"""Small HTTP helpers shared by the checks: key URLs and RFC 9457 problem bodies."""

from urllib.parse import quote

import requests

TIMEOUT = 10  # seconds; every request in the suite is bounded


def key_path(key: str) -> str:
    """/api/v1/keys/<key>, percent-encoded; dots too, so `.` and `..` stay keys, not path segments."""
    return "/api/v1/keys/" + quote(key, safe="").replace(".", "%2E")


def problem_fields(response: requests.Response) -> dict:
    """The problem+json body, or {} when the response is not one."""
    if not response.headers.get("Content-Type", "").startswith("application/problem+json"):
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def is_problem(response: requests.Response, *statuses: int) -> bool:
    """True when the response is a problem+json with one of `statuses`, consistent with its body."""
    body = problem_fields(response)
    return (
        response.status_code in statuses
        and {"type", "title", "status", "detail"} <= body.keys()
        and body["status"] == response.status_code
    )
