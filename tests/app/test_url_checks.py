"""The app's own URL checks: a path and query over MAX_URL_LENGTH characters is a 414, and a URL
whose %-escapes are not UTF-8 a 400.

What a real gunicorn answers around them, and that /openapi.json documents each answer:
test_gunicorn_refusals.py.
"""

from urllib.parse import quote

import pytest
from helpers import assert_problem

from app.url_checks import MAX_URL_LENGTH, UrlTooLong, check_url_length

DOCUMENTED_OPERATIONS = [
    ("GET", "/api/v1/keys"),
    ("GET", "/api/v1/keys/k"),
    ("PUT", "/api/v1/keys/k"),
    ("DELETE", "/api/v1/keys/k"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
]


def padded(path: str, length: int) -> str:
    """`path` with an unknown query parameter that makes the URL exactly `length` characters."""
    start = path + "?padding="
    return start + "x" * (length - len(start))


@pytest.mark.parametrize(("method", "path"), DOCUMENTED_OPERATIONS)
def test_a_url_one_character_over_the_limit_is_a_414_problem(client, method, path):
    response = client.open(padded(path, MAX_URL_LENGTH + 1), method=method, json={"value": "v"})
    assert_problem(response, 414)
    assert f"the limit is {MAX_URL_LENGTH}" in response.json["detail"]


def test_a_url_of_exactly_the_limit_is_served(client):
    assert client.get(padded("/api/v1/keys", MAX_URL_LENGTH)).status_code == 200


def test_a_5000_character_prefix_is_a_414_problem(client):
    # The query goes in the URL: the test client leaves a query_string= argument out of RAW_URI.
    assert_problem(client.get("/api/v1/keys?prefix=" + "a" * 5000), 414)


def test_a_key_url_over_the_limit_stores_nothing(client, redis_client):
    key = "k" * MAX_URL_LENGTH
    assert_problem(client.put("/api/v1/keys/" + key, json={"value": "v"}), 414)
    assert not redis_client.exists("dockerapp:key:" + key)


def test_the_longest_valid_urls_are_well_under_the_limit(client):
    # 256 four-byte characters take 12 characters each once percent-encoded.
    key = "\U0001f600" * 256
    put = client.put("/api/v1/keys/" + quote(key, safe=""), json={"value": "v"})
    assert put.status_code == 201
    listing = "/api/v1/keys?" + "&".join(
        (f"prefix={quote(key, safe='')}", f"cursor={'9' * 19}-{'9' * 9}", "limit=1000")
    )
    assert len(listing) < MAX_URL_LENGTH
    response = client.get(listing)
    assert response.status_code == 200, response.text  # answered, not refused for its length


def test_a_long_url_on_the_page_is_an_html_414(client):
    response = client.get(padded("/", MAX_URL_LENGTH + 1))
    assert response.status_code == 414
    assert response.mimetype == "text/html"


def test_without_the_raw_url_the_path_and_query_are_measured():
    # A WSGI server that passes neither RAW_URI nor REQUEST_URI still gets the limit.
    check_url_length({"PATH_INFO": "/api/v1/keys", "QUERY_STRING": "a" * 4000})
    with pytest.raises(UrlTooLong):
        check_url_length({"PATH_INFO": "/api/v1/keys", "QUERY_STRING": "a" * MAX_URL_LENGTH})


def test_a_key_whose_escapes_are_not_utf8_is_400_and_stores_nothing(client, redis_client):
    # Decoded leniently, %FF would become U+FFFD and silently name another key. Servers hand
    # the app the path's raw bytes as a latin-1 string, which the test client would decode first.
    raw_path = "/api/v1/keys/bad-\xff-key"
    response = client.put(raw_path, json={"value": "v"}, environ_overrides={"PATH_INFO": raw_path})
    assert_problem(response, 400)
    assert "UTF-8" in response.json["detail"]
    assert redis_client.keys("dockerapp:key:bad*") == []


@pytest.mark.parametrize("path", ["/api/v1/keys?prefix=bad-%C3", "/?key=%FF"])
def test_query_escapes_that_are_not_utf8_are_400(client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert "UTF-8" in (response.json["detail"] if response.is_json else response.text)
