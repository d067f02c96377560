"""Over-long and malformed requests to a real gunicorn: every answer, whether the app gave it
(problem+json) or gunicorn did before the app ran (text/html), is documented in /openapi.json
for its operation, with that media type.

`make proof` once failed on schemathesis seed 644885237: a GET /api/v1/keys with a ~5,800
character query got gunicorn's own 414 page, which the document did not list. These cases keep
that from coming back.
"""

import json
import re
import socket
import urllib.request
from urllib.parse import quote, urlencode, urlsplit

import pytest
from helpers import gunicorn

from app.gunicorn_limits import LIMIT_REQUEST_FIELD_SIZE, LIMIT_REQUEST_FIELDS, LIMIT_REQUEST_LINE

PROBLEM, PAGE = "application/problem+json", "text/html"
# The shape of seed 644885237's query (~5,600 characters; the seed's had ~5,800): unknown
# parameters named in letters stacked with combining marks (6 characters each once
# percent-encoded), then valid listing parameters.
ZALGO = "T\u0330\u033a\u0315o\u035e v\u031f\u031c\u0318\u0326\u035fo\u0336\u0319k\u00e8\u035a"
SEED_644885237_QUERY = urlencode(
    [(ZALGO * 4, "") for _ in range(16)] + [("prefix", "\U000886d2\u00ab"), ("limit", "855")],
    quote_via=quote,
)


def request(method: str, target: str, *headers: bytes, body: bytes = b"") -> bytes:
    """The bytes of one HTTP/1.1 request, sent as they are."""
    lines = [f"{method} {target} HTTP/1.1".encode(), b"Host: test", b"Connection: close"]
    return b"\r\n".join([*lines, *headers, b"", body])


CASES = {
    "a 5,000-character prefix: the app's 414": (
        ("get", "/api/v1/keys"),
        request("GET", "/api/v1/keys?prefix=" + "a" * 5000),
        (414, PROBLEM),
    ),
    "seed 644885237's query: the app's 414": (
        ("get", "/api/v1/keys"),
        request("GET", "/api/v1/keys?" + SEED_644885237_QUERY),
        (414, PROBLEM),
    ),
    "a URL that is not UTF-8: the app's 400": (
        ("get", "/api/v1/keys/{key}"),
        request("GET", "/api/v1/keys/bad-%FF"),
        (400, PROBLEM),
    ),
    "a request line over gunicorn's limit: its 414": (
        ("get", "/api/v1/keys"),
        request("GET", "/api/v1/keys?prefix=" + "a" * LIMIT_REQUEST_LINE),
        (414, PAGE),
    ),
    "one header field too many (with Host and Connection): gunicorn's 431": (
        ("get", "/healthz"),
        request(
            "GET",
            "/healthz",
            *(b"X-Filler-%d: f" % n for n in range(LIMIT_REQUEST_FIELDS - 1)),
        ),
        (431, PAGE),
    ),
    "a header line over gunicorn's limit: its 431": (
        ("delete", "/api/v1/keys/{key}"),
        request("DELETE", "/api/v1/keys/k", b"X-Filler: " + b"f" * LIMIT_REQUEST_FIELD_SIZE),
        (431, PAGE),
    ),
    "an Expect header it cannot meet: gunicorn's 417": (
        ("get", "/readyz"),
        request("GET", "/readyz", b"Expect: a-pony"),
        (417, PAGE),
    ),
    "an unknown transfer coding: gunicorn's 501": (
        ("put", "/api/v1/keys/{key}"),
        request(
            "PUT", "/api/v1/keys/k", b"Transfer-Encoding: pony", b"Content-Type: application/json"
        ),
        (501, PAGE),
    ),
    "a NUL in a header name: gunicorn's 400": (
        ("get", "/api/v1/keys/{key}"),
        request("GET", "/api/v1/keys/k", b"X-Bad\x00Name: v"),
        (400, PAGE),
    ),
}


@pytest.fixture(scope="module")
def base(redis_url, tmp_path_factory):
    """One gunicorn for the module: each case opens a connection of its own."""
    with gunicorn(redis_url, tmp_path_factory.mktemp("metrics")) as (url, _):
        yield url


def send(base: str, raw: bytes) -> tuple[int, str, bytes]:
    """Send raw bytes (no client-side checks); the answer's status, media type and body."""
    with socket.create_connection(
        (urlsplit(base).hostname, urlsplit(base).port), timeout=10
    ) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    # gunicorn ends the head of its own error pages with CRLF LF, not CRLF CRLF.
    head, body = re.split(rb"\r\n\r?\n", answer, maxsplit=1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers.get("content-type", "").split(";")[0], body


def documented_media_types(document: dict, method: str, path: str, status: int) -> set[str]:
    """The media types /openapi.json gives for this operation's `status` ({} if undocumented)."""
    answer = document["paths"][path][method]["responses"].get(str(status), {})
    if "$ref" in answer:
        answer = document["components"]["responses"][answer["$ref"].rpartition("/")[2]]
    return set(answer.get("content", {}))


@pytest.mark.parametrize(("operation", "raw", "expected"), CASES.values(), ids=list(CASES))
def test_the_answer_is_the_expected_one_and_documented(base, operation, raw, expected):
    status, media_type, body = send(base, raw)
    assert (status, media_type) == expected, body[:300]
    if media_type == PROBLEM:
        assert json.loads(body)["status"] == status
    document = json.load(urllib.request.urlopen(base + "/openapi.json", timeout=10))
    assert media_type in documented_media_types(document, *operation, status)


def test_the_server_keeps_serving_after_every_refusal(base):
    for _, raw, _ in CASES.values():
        send(base, raw)
    assert urllib.request.urlopen(base + "/healthz", timeout=10).status == 200
