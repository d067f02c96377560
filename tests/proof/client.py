"""Small HTTP helpers shared by the checks: key URLs and RFC 9457 problem bodies."""

from urllib.parse import quote

import requests

TIMEOUT = 10  # seconds; every request in the suite is bounded
SAFE_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}


def key_path(key: str) -> str:
    """/api/v1/keys/<key>, percent-encoded, dots too: `.` and `..` stay keys, not path steps."""
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


def missing_security_headers(response: requests.Response) -> list[str]:
    """Which of CSP, nosniff, framing denied and a safe referrer policy the response lacks."""
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    checks = {
        "Content-Security-Policy": "default-src" in policy and "unsafe-inline" not in policy,
        "X-Content-Type-Options": headers.get("X-Content-Type-Options") == "nosniff",
        "framing denied": headers.get("X-Frame-Options") == "DENY"
        or "frame-ancestors 'none'" in policy,
        "Referrer-Policy": headers.get("Referrer-Policy") in SAFE_REFERRER_POLICIES,
    }
    return [name for name, present in checks.items() if not present]


def put_key(stack, key: str, **kwargs) -> requests.Response:
    """PUT /api/v1/keys/<key>, passing requests its arguments (json=..., data=..., headers=...)."""
    return requests.put(stack.url(key_path(key)), timeout=TIMEOUT, **kwargs)


def is_absent(stack, key: str) -> bool:
    """Nothing is stored under `key` (404), or the key cannot even be asked for (400)."""
    return requests.get(stack.url(key_path(key)), timeout=TIMEOUT).status_code in (400, 404)
