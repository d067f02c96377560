"""The JSON API under /api/v1: status codes, bodies, keys, values, TTLs and problem details."""

import time
from urllib.parse import quote

import pytest
from helpers import assert_problem


def url(key: str) -> str:
    """The URL of a key, percent-encoded as a client must ("/" included)."""
    return "/api/v1/keys/" + quote(key, safe="")


def test_put_creates_with_201(client, redis_client):
    response = client.put(url("k"), json={"value": "v"})
    assert response.status_code == 201
    assert response.json == {"key": "k", "value": "v", "ttl": None}
    assert redis_client.get("dockerapp:key:k") == "v"


def test_put_replaces_with_200(client):
    client.put(url("k"), json={"value": "old"})
    response = client.put(url("k"), json={"value": "new"})
    assert response.status_code == 200
    assert client.get(url("k")).json["value"] == "new"


def test_get_returns_value_and_null_ttl(client):
    client.put(url("k"), json={"value": "v"})
    response = client.get(url("k"))
    assert response.status_code == 200
    assert response.json == {"key": "k", "value": "v", "ttl": None}


def test_get_reports_seconds_left_of_a_ttl(client):
    assert client.put(url("k"), json={"value": "v", "ttl": 100}).json["ttl"] == 100
    assert 0 < client.get(url("k")).json["ttl"] <= 100


def test_put_without_ttl_clears_an_earlier_ttl(client):
    client.put(url("k"), json={"value": "v", "ttl": 100})
    client.put(url("k"), json={"value": "v"})
    assert client.get(url("k")).json["ttl"] is None


def test_key_expires_after_its_ttl(client):
    client.put(url("short-lived"), json={"value": "v", "ttl": 1})
    deadline = time.monotonic() + 5
    while client.get(url("short-lived")).status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert_problem(client.get(url("short-lived")), 404)


def test_get_of_absent_key_is_404(client):
    assert_problem(client.get(url("absent")), 404)


def test_delete_is_204_then_404(client):
    client.put(url("k"), json={"value": "v"})
    response = client.delete(url("k"))
    assert response.status_code == 204
    assert response.data == b""
    assert_problem(client.get(url("k")), 404)
    assert_problem(client.delete(url("k")), 404)


@pytest.mark.parametrize(
    "key",
    [
        "with space",
        "a/b",
        "/leading",
        "trailing/",
        "a//b",
        "ünïcødé ключ 鍵 🔑",
        "%41",
        "?#&",
        "x" * 256,
    ],
)
def test_printable_keys_round_trip(client, key):
    assert client.put(url(key), json={"value": key}).status_code == 201
    assert client.get(url(key)).json == {"key": key, "value": key, "ttl": None}
    assert key in client.get("/api/v1/keys", query_string={"limit": 1000}).json["keys"]
    assert client.delete(url(key)).status_code == 204


@pytest.mark.parametrize("key", ["new\nline", "tab\there", "nul\x00", "del\x7f", "c1\x85"])
def test_keys_with_control_characters_are_400(client, redis_client, key):
    assert_problem(client.put(url(key), json={"value": "v"}), 400)
    assert_problem(client.get(url(key)), 400)
    assert redis_client.keys("dockerapp:key:*") == []


def test_key_of_257_characters_is_400(client):
    assert_problem(client.put(url("x" * 257), json={"value": "v"}), 400)


def test_value_at_the_size_limit_is_stored(make_app):
    client = make_app(max_value_bytes=8).test_client()
    assert client.put(url("k"), json={"value": "é" * 4}).status_code == 201


def test_value_over_the_size_limit_is_413(make_app, redis_client):
    client = make_app(max_value_bytes=8).test_client()
    response = client.put(url("k"), json={"value": "é" * 5})  # 10 bytes of UTF-8
    assert_problem(response, 413)
    assert redis_client.get("dockerapp:key:k") is None


def test_body_far_over_the_limit_is_413(make_app):
    client = make_app(max_value_bytes=8).test_client()
    response = client.put(url("k"), data="[" + " " * 100_000 + "]", content_type="application/json")
    assert_problem(response, 413)


def test_body_that_is_not_json_is_415(client):
    assert_problem(client.put(url("k"), data="value=v"), 415)
    assert_problem(client.put(url("k"), data="{}", content_type="text/plain"), 415)


@pytest.mark.parametrize(
    "body",
    [
        '{"value": ',
        '"just a string"',
        "[]",
        "{}",
        '{"value": 1}',
        '{"value": null}',
        '{"value": "v", "ttl": 0}',
        '{"value": "v", "ttl": -5}',
        '{"value": "v", "ttl": 1.5}',
        '{"value": "v", "ttl": "10"}',
        '{"value": "v", "ttl": true}',
        '{"value": "v", "tll": 5}',
        '{"value": "\\ud800"}',
    ],
)
def test_malformed_json_or_fields_are_400(client, redis_client, body):
    response = client.put(url("k"), data=body, content_type="application/json")
    assert_problem(response, 400)
    assert redis_client.get("dockerapp:key:k") is None


def test_unknown_api_path_is_a_404_problem(client):
    assert_problem(client.get("/api/v1/nothing"), 404)


def test_wrong_method_is_a_405_problem_with_allow(client):
    response = client.post(url("k"), json={"value": "v"})
    assert_problem(response, 405)
    assert "PUT" in response.headers["Allow"]
    assert_problem(client.delete("/api/v1/keys"), 405)


def test_api_responses_carry_security_headers(client):
    headers = client.get(url("1")).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in headers


def test_ttl_written_as_a_whole_float_is_accepted(client):
    assert client.put(url("k"), json={"value": "v", "ttl": 30.0}).json["ttl"] == 30


def test_ttl_left_is_rounded_up_so_a_live_key_never_reports_zero(client, redis_client):
    client.put(url("k"), json={"value": "v", "ttl": 100})
    redis_client.pexpire("dockerapp:key:k", 300)
    assert client.get(url("k")).json["ttl"] == 1
