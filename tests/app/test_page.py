"""The HTML page: the form, save and load, CSRF, escaping, visits and the serving host."""

import re
import socket

from helpers import csrf_token

SAVE = {"submit": "save"}
LOAD = {"submit": "load"}


def post(client, **fields):
    """POST the form with a valid CSRF token, as the browser does after loading the page."""
    token = csrf_token(client.get("/").text)
    return client.post("/", data={"csrf_token": token, **fields})


def test_page_is_html_with_the_original_form(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.text
    assert re.search(r'<form method="post" action="/">', html)
    assert 'name="key"' in html
    assert 'name="cache_value"' in html
    assert 'name="submit" value="save"' in html
    assert 'name="submit" value="load"' in html
    assert 'name="csrf_token"' in html


def test_page_shows_the_visit_count_and_the_serving_host(client):
    first = client.get("/").text
    second = client.get("/").text
    count = [int(re.search(r'id="visits">(\d+)<', page)[1]) for page in (first, second)]
    assert count[1] == count[0] + 1
    assert f'id="hostname">{socket.gethostname()}<' in second


def test_visit_counter_is_not_a_user_key(client, redis_client):
    client.get("/")
    assert redis_client.get("dockerapp:meta:visits") == "1"
    assert client.get("/api/v1/keys").json["keys"] == ["1"]


def test_fresh_store_holds_one_under_key_1(client):
    response = client.get("/?key=1")
    assert response.status_code == 200
    assert 'id="result-value">one<' in response.text


def test_save_stores_the_value_and_shows_it(client, redis_client):
    response = post(client, key="colour", cache_value="blue", **SAVE)
    assert response.status_code == 200
    assert 'id="result-key">colour<' in response.text
    assert 'id="result-value">blue<' in response.text
    assert redis_client.get("dockerapp:key:colour") == "blue"


def test_load_shows_the_stored_value(client):
    post(client, key="colour", cache_value="blue", **SAVE)
    response = post(client, key="colour", cache_value="", **LOAD)
    assert response.status_code == 200
    assert 'id="result-value">blue<' in response.text


def test_load_of_an_absent_key_says_none_is_stored(client):
    response = post(client, key="nothing-here", **LOAD)
    assert response.status_code == 200
    assert "No value is stored" in response.text
    assert "result-value" not in response.text


def test_get_with_key_parameter_shows_key_and_value(client):
    post(client, key="a b/c", cache_value="bookmarked", **SAVE)
    response = client.get("/?key=a%20b%2Fc")
    assert response.status_code == 200
    assert 'id="result-key">a b/c<' in response.text
    assert 'id="result-value">bookmarked<' in response.text


def test_stored_markup_is_shown_as_text(client):
    payload = '<script>alert("x")</script>'
    response = post(client, key='"><b>k', cache_value=payload, **SAVE)
    assert "<script>" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text
    assert 'value="&#34;&gt;&lt;b&gt;k"' in response.text  # the key, in a quoted attribute
    assert "<b>k" not in response.text


def test_post_without_csrf_token_is_refused_and_stores_nothing(client, redis_client):
    client.get("/")
    response = client.post("/", data={"key": "k", "cache_value": "v", **SAVE})
    assert response.status_code == 400
    assert "CSRF" in response.text
    assert redis_client.get("dockerapp:key:k") is None


def test_post_with_a_forged_csrf_token_is_refused_and_stores_nothing(client, redis_client):
    client.get("/")
    forged = {"csrf_token": "forged", "key": "k", "cache_value": "v", **SAVE}
    response = client.post("/", data=forged)
    assert response.status_code == 400
    assert redis_client.get("dockerapp:key:k") is None


def test_csrf_token_signed_with_another_secret_is_refused(make_app, redis_client):
    foreign = make_app(secret_key="another-secret").test_client()
    token = csrf_token(foreign.get("/").text)
    ours = make_app().test_client()
    ours.set_cookie("session", foreign.get_cookie("session").value)
    response = ours.post("/", data={"csrf_token": token, "key": "k", "cache_value": "v", **SAVE})
    assert response.status_code == 400
    assert redis_client.get("dockerapp:key:k") is None


def test_csrf_token_from_one_instance_is_valid_on_another_with_the_same_secret(make_app):
    first, second = make_app().test_client(), make_app().test_client()
    token = csrf_token(first.get("/").text)
    second.set_cookie("session", first.get_cookie("session").value)
    response = second.post("/", data={"csrf_token": token, "key": "k", "cache_value": "v", **SAVE})
    assert response.status_code == 200


def test_post_without_submit_is_a_readable_400(client):
    response = post(client, key="k", cache_value="v")
    assert response.status_code == 400
    assert "Press Save or Load" in response.text


def test_post_without_key_is_a_readable_400(client):
    response = post(client, cache_value="v", **SAVE)
    assert response.status_code == 400
    assert "key is missing" in response.text


def test_save_without_value_is_a_readable_400(client, redis_client):
    response = post(client, key="k", **SAVE)
    assert response.status_code == 400
    assert "cache_value is missing" in response.text
    assert redis_client.get("dockerapp:key:k") is None


def test_save_with_an_invalid_key_is_a_readable_400(client):
    response = post(client, key="bad\nkey", cache_value="v", **SAVE)
    assert response.status_code == 400
    assert "control characters" in response.text


def test_save_of_a_too_large_value_is_413(make_app, redis_client):
    client = make_app(max_value_bytes=10).test_client()
    response = post(client, key="k", cache_value="x" * 11, **SAVE)
    assert response.status_code == 413
    assert "limit is 10" in response.text
    assert redis_client.get("dockerapp:key:k") is None


def test_page_carries_security_headers(client):
    headers = client.get("/").headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"


def test_unknown_page_is_an_html_404_with_the_same_headers(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
