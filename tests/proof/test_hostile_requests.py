"""Hostile requests: forged request ids, header injection, markup, CSRF, wrong methods and types.

docs/reliability.md lists every case with the answer it gets.
"""

import json
import re
import socket
import time
from datetime import UTC, datetime

import pytest
import requests

from .client import TIMEOUT, is_absent, is_problem, key_path, put_key
from .stack import APP

SAFE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII, no space, no CR/LF
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def raw_request(stack, request: bytes) -> tuple[int, list[str]]:
    """Send bytes as they are (no client-side header checks); return status and header lines."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := connection.recv(65536)):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return int(head[0].split()[1]), head[1:]


def test_valid_request_id_is_kept(stack, figure):
    """A well-formed X-Request-ID is echoed back unchanged"""
    response = requests.get(
        stack.url("/healthz"), headers={"X-Request-ID": "proof-1234.abcd"}, timeout=TIMEOUT
    )
    figure(echoed=response.headers.get("X-Request-ID"))
    assert response.headers.get("X-Request-ID") == "proof-1234.abcd"


UNSAFE_REQUEST_IDS = [
    'id" , "level": "CRITICAL',
    "with space",
    "<script>",
    "x" * 500,
    "caf\xe9",
    "back\\slash",
]


def test_unsafe_request_ids_are_replaced_and_cannot_forge_log_fields(stack, figure):
    """Unsafe X-Request-IDs (quote, space, markup, 500 chars, non-ASCII) replaced; logs stay JSON"""
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    echoed = {}
    for unsafe in UNSAFE_REQUEST_IDS:
        response = requests.get(
            stack.url("/healthz"),
            headers={"X-Request-ID": unsafe.encode("latin-1")},
            timeout=TIMEOUT,
        )
        echoed[unsafe] = response.headers.get("X-Request-ID", "")
    # Only once every request's access line has arrived, under the id it was given, does "no
    # line carries a forged field" say anything. The app writes them within 0.1 s (batched).
    deadline = time.monotonic() + 10
    while True:
        lines = stack.compose(
            "logs", "--no-color", "--no-log-prefix", "--since", since, APP
        ).stdout.splitlines()
        records = [json.loads(line) for line in lines if line.strip()]  # raises if not JSON
        logged = {r.get("request_id") for r in records if r.get("logger") == "dockerapp.access"}
        if set(echoed.values()) <= logged or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    figure(
        ids=len(UNSAFE_REQUEST_IDS),
        replaced=sum(sent != got for sent, got in echoed.items()),
        log_lines=len(records),
    )
    assert all(sent != got and SAFE_REQUEST_ID.fullmatch(got) for sent, got in echoed.items())
    assert set(echoed.values()) <= logged, f"access lines missing 10 s on: {echoed}"
    assert not [r for r in records if r.get("level") == "CRITICAL"]


HEADER_INJECTIONS = {
    "bare CR": b"X-Request-ID: abc\rSet-Cookie: injected=1\r\n",
    "obs-fold": b"X-Request-ID: abc\r\n Set-Cookie: injected=1\r\n",
    "NUL": b"X-Request-ID: abc\x00Set-Cookie: injected=1\r\n",
}


@pytest.mark.parametrize("header", HEADER_INJECTIONS.values(), ids=list(HEADER_INJECTIONS))
def test_header_injection_through_request_id_is_impossible(stack, figure, header):
    """Raw CR, line folding or NUL in X-Request-ID never puts a header into the response"""
    status, lines = raw_request(
        stack, b"GET /healthz HTTP/1.1\r\nHost: proof\r\n" + header + b"Connection: close\r\n\r\n"
    )
    ids = [
        line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("x-request-id:")
    ]
    figure(status=status, echoed=ids[0] if ids else "-")
    assert status == 400  # gunicorn refuses the request (docs/reliability.md)
    assert not [line for line in lines if "injected" in line.lower()]
    assert all(SAFE_REQUEST_ID.fullmatch(request_id) for request_id in ids)


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ATTRIBUTE_BREAK = '" autofocus onfocus="alert(1)'


def test_html_and_script_in_values_and_keys_are_shown_as_text(stack, figure):
    """Markup in values and keys is shown escaped on the page; the API serves it as JSON"""
    put_key(stack, "markup", json={"value": MARKUP})
    put_key(stack, ATTRIBUTE_BREAK, json={"value": MARKUP})
    pages = [
        requests.get(stack.url("/"), params={"key": key}, timeout=TIMEOUT)
        for key in ("markup", ATTRIBUTE_BREAK)
    ]
    api = requests.get(stack.url(key_path("markup")), timeout=TIMEOUT)
    figure(pages=len(pages), escaped=all("&lt;script&gt;" in page.text for page in pages))
    for page in pages:
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert "&lt;script&gt;" in page.text
        assert MARKUP not in page.text and "<script" not in page.text
        assert 'onfocus="alert' not in page.text
    assert (
        api.headers["Content-Type"].startswith("application/json") and api.json()["value"] == MARKUP
    )


def form_token(session: requests.Session, stack) -> str:
    """GET the page in this session and return its CSRF token."""
    return CSRF_FIELD.search(session.get(stack.url("/"), timeout=TIMEOUT).text).group(1)


def save_form(session, stack, key: str, token: str | None) -> requests.Response:
    fields = {"key": key, "cache_value": "from the form", "submit": "save"}
    if token is not None:
        fields["csrf_token"] = token
    return session.post(stack.url("/"), data=fields, timeout=TIMEOUT)


def test_form_post_without_a_csrf_token_is_400_and_stores_nothing(stack, figure):
    """A form POST without a CSRF token is 400 and stores nothing"""
    with requests.Session() as session:
        form_token(session, stack)  # a real session cookie, just no token in the form
        response = save_form(session, stack, "csrf-missing", token=None)
    figure(status=response.status_code)
    assert response.status_code == 400
    assert is_absent(stack, "csrf-missing")


def test_form_post_with_a_stolen_csrf_token_is_400_and_stores_nothing(stack, figure):
    """A CSRF token from another session is 400 (with or without an own session); own token works"""
    with requests.Session() as victim, requests.Session() as attacker, requests.Session() as bare:
        stolen = form_token(victim, stack)
        form_token(attacker, stack)  # the attacker has a session of its own
        with_session = save_form(attacker, stack, "csrf-stolen", stolen)
        without_session = save_form(bare, stack, "csrf-stolen", stolen)
        own = save_form(victim, stack, "csrf-own", stolen)
    figure(
        with_own_session=with_session.status_code,
        without_session=without_session.status_code,
        victim_itself=own.status_code,
    )
    assert with_session.status_code == 400 and without_session.status_code == 400
    assert is_absent(stack, "csrf-stolen")
    assert own.status_code == 200 and not is_absent(stack, "csrf-own"), "the control case must save"


WRONG_METHODS = [
    ("POST", "/api/v1/keys/wrong-method"),
    ("PATCH", "/api/v1/keys/wrong-method"),
    ("POST", "/api/v1/keys"),
    ("DELETE", "/api/v1/keys"),
    ("PUT", "/healthz"),
    ("DELETE", "/"),
    ("TRACE", "/"),
]


def test_wrong_methods_are_405_with_allow(stack, figure):
    """Wrong methods on the API, health and page: 405 with Allow (problem+json on the API)"""
    answers = {
        f"{method} {path}": requests.request(method, stack.url(path), timeout=TIMEOUT)
        for method, path in WRONG_METHODS
    }
    figure(cases=len(answers), statuses=sorted({r.status_code for r in answers.values()}))
    for name, response in answers.items():
        assert response.status_code == 405 and response.headers.get("Allow"), name
        if "/api/" in name:
            assert is_problem(response, 405), name
    assert is_absent(stack, "wrong-method")


WRONG_CONTENT_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    "text/html",
]


def test_wrong_content_types_are_415_and_store_nothing(stack, figure):
    """A PUT not declared JSON (none, text, form, multipart, XML, HTML) is 415 problem+json"""
    answers = {}
    for number, content_type in enumerate(WRONG_CONTENT_TYPES):
        headers = {"Content-Type": content_type} if content_type else {}
        answers[content_type] = put_key(
            stack, f"ctype-{number}", data=b'{"value": "v"}', headers=headers
        )
    figure(cases=len(answers), statuses=sorted({r.status_code for r in answers.values()}))
    assert all(is_problem(response, 415) for response in answers.values())
    assert all(is_absent(stack, f"ctype-{n}") for n in range(len(WRONG_CONTENT_TYPES)))
