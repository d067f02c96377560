"""Hostile input, one named case per test: what an attacker or a broken client sends.

docs/reliability.md lists every case with the answer it gets. Each rejected write is also
checked to have stored nothing.
"""

import json
import re
import socket
import time
from datetime import UTC, datetime

import pytest
import requests

from .client import TIMEOUT, is_problem, key_path
from .stack import APP

LIMIT = 65536  # MAX_VALUE_BYTES default: 64 KiB of UTF-8
SAFE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")  # visible ASCII, no space, no CR/LF
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def put(stack, key: str, **kwargs) -> requests.Response:
    return requests.put(stack.url(key_path(key)), timeout=TIMEOUT, **kwargs)


def is_absent(stack, key: str) -> bool:
    return requests.get(stack.url(key_path(key)), timeout=TIMEOUT).status_code in (400, 404)


def raw_request(stack, request: bytes) -> tuple[int, list[str]]:
    """Send bytes as they are (no client-side header checks); return status and header lines."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data and (chunk := connection.recv(65536)):
            data += chunk
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return int(head[0].split()[1]), head[1:]


def test_value_one_byte_over_the_limit_is_413(stack, figure):
    """A value one byte over 64 KiB (in 1- or 2-byte characters) is 413; exactly 64 KiB is stored"""
    answers = {
        "ascii-limit": put(stack, "limit-a", json={"value": "a" * LIMIT}).status_code,
        "utf8-limit": put(stack, "limit-e", json={"value": "é" * (LIMIT // 2)}).status_code,
    }
    over = {
        "ascii-over": put(stack, "over-a", json={"value": "a" * (LIMIT + 1)}),
        "utf8-over": put(stack, "over-e", json={"value": "é" * (LIMIT // 2) + "a"}),
    }
    figure(**answers, **{name: response.status_code for name, response in over.items()})
    assert set(answers.values()) <= {200, 201}
    assert all(is_problem(response, 413) for response in over.values())
    assert is_absent(stack, "over-a") and is_absent(stack, "over-e")


def test_oversized_body_is_413_and_the_app_keeps_serving(stack, figure):
    """A 4 MiB request body is refused with 413 problem+json, and the app keeps serving"""
    body = b'{"value": "' + b"x" * (4 * 2**20) + b'"}'
    response = put(stack, "huge", data=body, headers={"Content-Type": "application/json"})
    figure(bytes=len(body), status=response.status_code)
    assert is_problem(response, 413)
    assert is_absent(stack, "huge")
    assert requests.get(stack.url("/healthz"), timeout=TIMEOUT).status_code == 200


def test_invalid_utf8_in_the_body_is_400(stack, figure):
    """Invalid UTF-8 inside a JSON body is 400 problem+json, nothing stored"""
    response = put(
        stack,
        "bad-utf8",
        data=b'{"value": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    figure(status=response.status_code)
    assert is_problem(response, 400)
    assert is_absent(stack, "bad-utf8")


def test_invalid_utf8_in_the_key_is_400(stack, figure):
    """Invalid UTF-8 in the key's URL (%FF) is 400, not stored under a replaced key"""
    response = requests.put(
        stack.url("/api/v1/keys/bad-%FF-key"), json={"value": "v"}, timeout=TIMEOUT
    )
    listing = requests.get(stack.url("/api/v1/keys?prefix=bad-"), timeout=TIMEOUT).json()["keys"]
    figure(
        status=response.status_code,
        stored_as=[k for k in listing if k.startswith("bad-\ufffd")] or "-",
    )
    assert is_problem(response, 400)
    assert not [k for k in listing if k.startswith("bad-\ufffd")]


CONTROL_KEYS = [
    "nul\x00",
    "tab\t",
    "newline\n",
    "cr\r",
    "escape\x1b[31m",
    "del\x7f",
    "c1-next-line\x85",
]


def test_control_characters_in_keys_are_400(stack, figure):
    """Control characters in keys (NUL, tab, CR, LF, ESC, DEL, C1): 400 in the API and the page"""
    api = {key: put(stack, key, json={"value": "v"}) for key in CONTROL_KEYS}
    page = {
        key: requests.get(stack.url("/"), params={"key": key}, timeout=TIMEOUT)
        for key in CONTROL_KEYS
    }
    figure(
        keys=len(CONTROL_KEYS),
        api=sorted({r.status_code for r in api.values()}),
        page=sorted({r.status_code for r in page.values()}),
    )
    assert all(is_problem(response, 400) for response in api.values())
    assert all(response.status_code == 400 for response in page.values())
    assert all(is_absent(stack, key) for key in CONTROL_KEYS)


def test_control_characters_in_values_round_trip_exactly(stack, figure):
    """Values are any string: control characters are stored and returned exactly"""
    value = "nul\x00 bell\x07 esc\x1b[31m del\x7f crlf\r\n c1\x85 end"
    stored = put(stack, "control-value", json={"value": value}).status_code
    back = requests.get(stack.url(key_path("control-value")), timeout=TIMEOUT).json()["value"]
    figure(status=stored, round_trip=back == value)
    assert stored in (200, 201) and back == value


def test_key_length_limit_is_256_characters(stack, figure):
    """Keys of 256 characters (even 4-byte ones) are stored; 257 is 400"""
    answers = {
        "256 ascii": put(stack, "k" * 256, json={"value": "v"}),
        "256 emoji": put(stack, "😀" * 256, json={"value": "v"}),
        "257 ascii": put(stack, "k" * 257, json={"value": "v"}),
    }
    figure(**{name: response.status_code for name, response in answers.items()})
    assert answers["256 ascii"].status_code in (200, 201) and answers["256 emoji"].status_code in (
        200,
        201,
    )
    assert is_problem(answers["257 ascii"], 400)
    assert is_absent(stack, "k" * 257)


def test_very_long_url_and_headers_are_refused_without_a_server_error(stack, figure):
    """A 20,000-character key URL and 100 x 1 kB headers are refused (4xx), never a 5xx"""
    long_url = put(stack, "k" * 20_000, json={"value": "v"})
    many_headers = requests.get(
        stack.url("/healthz"),
        timeout=TIMEOUT,
        headers={f"X-Filler-{n}": "f" * 1000 for n in range(100)},
    )
    figure(long_url=long_url.status_code, many_headers=many_headers.status_code)
    assert 400 <= long_url.status_code < 500
    assert 400 <= many_headers.status_code < 500
    assert requests.get(stack.url("/healthz"), timeout=TIMEOUT).status_code == 200


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
    time.sleep(0.5)  # let the log lines reach Docker's log driver
    lines = stack.compose(
        "logs", "--no-color", "--no-log-prefix", "--since", since, APP
    ).stdout.splitlines()
    records = [json.loads(line) for line in lines if line.strip()]  # raises if a line is not JSON
    figure(
        ids=len(UNSAFE_REQUEST_IDS),
        replaced=sum(sent != got for sent, got in echoed.items()),
        log_lines=len(records),
    )
    assert all(sent != got and SAFE_REQUEST_ID.fullmatch(got) for sent, got in echoed.items())
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
    assert status < 500
    assert not [line for line in lines if "injected" in line.lower()]
    assert all(SAFE_REQUEST_ID.fullmatch(request_id) for request_id in ids)


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ATTRIBUTE_BREAK = '" autofocus onfocus="alert(1)'


def test_html_and_script_in_values_and_keys_are_shown_as_text(stack, figure):
    """Markup in values and keys is shown escaped on the page; the API serves it as JSON"""
    put(stack, "markup", json={"value": MARKUP})
    put(stack, ATTRIBUTE_BREAK, json={"value": MARKUP})
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
        answers[content_type] = put(
            stack, f"ctype-{number}", data=b'{"value": "v"}', headers=headers
        )
    figure(cases=len(answers), statuses=sorted({r.status_code for r in answers.values()}))
    assert all(is_problem(response, 415) for response in answers.values())
    assert all(is_absent(stack, f"ctype-{n}") for n in range(len(WRONG_CONTENT_TYPES)))


BAD_LISTINGS = {
    "limit=0": "0",
    "limit=1001": "1001",
    "limit=-1": "-1",
    "limit=abc": "abc",
    "fullwidth-1": "\uff11",
}
BAD_CURSORS = ["garbage", "1-2-3", "99999999999999999999-0"]


def test_bad_listing_parameters_are_400(stack, figure):
    """Out-of-range or malformed limit, cursor and prefix on the listing are 400, never 5xx"""
    listing = stack.url("/api/v1/keys")
    answers = [
        requests.get(listing, params={"limit": limit}, timeout=TIMEOUT)
        for limit in BAD_LISTINGS.values()
    ]
    answers += [
        requests.get(listing, params={"cursor": cursor}, timeout=TIMEOUT) for cursor in BAD_CURSORS
    ]
    answers.append(requests.get(listing, params={"prefix": "bad\x00prefix"}, timeout=TIMEOUT))
    figure(cases=len(answers), statuses=sorted({r.status_code for r in answers}))
    assert all(is_problem(response, 400) for response in answers), [
        (r.url, r.status_code) for r in answers
    ]


def test_path_traversal_keys_stay_plain_keys_in_the_namespace(stack, figure):
    """Keys like ../../etc/passwd are ordinary keys: under the app's Redis prefix, round-trip"""
    keys = ["../../etc/passwd", "..", "/leading/slash", "a//b", "%2e%2e"]
    statuses = [put(stack, key, json={"value": key}).status_code for key in keys]
    back = [
        requests.get(stack.url(key_path(key)), timeout=TIMEOUT).json().get("value") for key in keys
    ]
    in_redis = stack.redis_cli("EXISTS", *(f"dockerapp:key:{key}" for key in keys)).strip()
    figure(keys=len(keys), statuses=sorted(set(statuses)), found_in_namespace=in_redis)
    assert set(statuses) <= {200, 201}
    assert back == keys
    assert in_redis == str(len(keys))
