"""Hostile values: oversized, malformed, over-long or odd keys and values, bad listing queries.

docs/reliability.md lists every case with the answer it gets. Each rejected write is also
checked to have stored nothing.
"""

import requests

from .client import TIMEOUT, is_absent, is_problem, key_path, put_key

LIMIT = 65536  # MAX_VALUE_BYTES default: 64 KiB of UTF-8


def test_value_one_byte_over_the_limit_is_413(stack, figure):
    """A value one byte over 64 KiB (in 1- or 2-byte characters) is 413; exactly 64 KiB is stored"""
    answers = {
        "ascii-limit": put_key(stack, "limit-a", json={"value": "a" * LIMIT}).status_code,
        "utf8-limit": put_key(stack, "limit-e", json={"value": "é" * (LIMIT // 2)}).status_code,
    }
    over = {
        "ascii-over": put_key(stack, "over-a", json={"value": "a" * (LIMIT + 1)}),
        "utf8-over": put_key(stack, "over-e", json={"value": "é" * (LIMIT // 2) + "a"}),
    }
    figure(**answers, **{name: response.status_code for name, response in over.items()})
    assert set(answers.values()) <= {200, 201}
    assert all(is_problem(response, 413) for response in over.values())
    assert is_absent(stack, "over-a") and is_absent(stack, "over-e")


def test_oversized_body_is_413_and_the_app_keeps_serving(stack, figure):
    """A 4 MiB request body is refused with 413 problem+json, and the app keeps serving"""
    body = b'{"value": "' + b"x" * (4 * 2**20) + b'"}'
    response = put_key(stack, "huge", data=body, headers={"Content-Type": "application/json"})
    figure(bytes=len(body), status=response.status_code)
    assert is_problem(response, 413)
    assert is_absent(stack, "huge")
    assert requests.get(stack.url("/healthz"), timeout=TIMEOUT).status_code == 200


def test_invalid_utf8_in_the_body_is_400(stack, figure):
    """Invalid UTF-8 inside a JSON body is 400 problem+json, nothing stored"""
    response = put_key(
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
    api = {key: put_key(stack, key, json={"value": "v"}) for key in CONTROL_KEYS}
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
    stored = put_key(stack, "control-value", json={"value": value}).status_code
    back = requests.get(stack.url(key_path("control-value")), timeout=TIMEOUT).json()["value"]
    figure(status=stored, round_trip=back == value)
    assert stored in (200, 201) and back == value


def test_key_length_limit_is_256_characters(stack, figure):
    """Keys of 256 characters (even 4-byte ones) are stored; 257 is 400"""
    answers = {
        "256 ascii": put_key(stack, "k" * 256, json={"value": "v"}),
        "256 emoji": put_key(stack, "😀" * 256, json={"value": "v"}),
        "257 ascii": put_key(stack, "k" * 257, json={"value": "v"}),
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
    long_url = put_key(stack, "k" * 20_000, json={"value": "v"})
    many_headers = requests.get(
        stack.url("/healthz"),
        timeout=TIMEOUT,
        headers={f"X-Filler-{n}": "f" * 1000 for n in range(100)},
    )
    figure(long_url=long_url.status_code, many_headers=many_headers.status_code)
    assert 400 <= long_url.status_code < 500
    assert 400 <= many_headers.status_code < 500
    assert requests.get(stack.url("/healthz"), timeout=TIMEOUT).status_code == 200


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
    statuses = [put_key(stack, key, json={"value": key}).status_code for key in keys]
    back = [
        requests.get(stack.url(key_path(key)), timeout=TIMEOUT).json().get("value") for key in keys
    ]
    in_redis = stack.redis_cli("EXISTS", *(f"dockerapp:key:{key}" for key in keys)).strip()
    figure(keys=len(keys), statuses=sorted(set(statuses)), found_in_namespace=in_redis)
    assert set(statuses) <= {200, 201}
    assert back == keys
    assert in_redis == str(len(keys))
