"""The HTML page: the form, save and load, CSRF, escaping, visits and the serving host."""

import re
import socket
from html import unescape

import pytest
import redis
from helpers import csrf_token, first_group

SAVE = {"submit": "save"}
LOAD = {"submit": "load"}


def post(client, **fields):
    """POST the form with a valid CSRF token, as the browser does after loading the page."""
    token = csrf_token(client.get("/").text)
    return client.post("/", data={"csrf_token": token, **fields})


def form_fields(html: str) -> tuple[str, str]:
    """The Key and Value fields as a browser fills them from `html`.

    The value attribute stops at the first raw quote and the text at the first </textarea>,
    as in a browser, so markup that escaped escaping shows up here as a wrong value. The one
    newline after <textarea> is the template's: HTML parsers drop it.
    """
    key = first_group(r'<input type="text" id="key" name="key" value="([^"]*)"', html)
    value = first_group(r'<textarea id="cache_value"[^>]*>\n(.*?)</textarea>', html, re.DOTALL)
    return unescape(key), unescape(value)


def result_line(html: str) -> str:
    """The result statement as a person reads it: tags dropped, spaces collapsed."""
    paragraph = first_group(r'<p id="result"[^>]*>(.*?)</p>', html, re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", paragraph)).split())


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


def test_page_opens_on_key_1_and_the_value_a_fresh_store_holds(client):
    html = client.get("/").text
    assert form_fields(html) == ("1", "one")
    assert 'id="result"' not in html  # filled, not a Load: no result line


def test_page_shows_the_value_key_1_holds_now(client):
    client.put("/api/v1/keys/1", json={"value": "changed through the API"})
    assert form_fields(client.get("/").text) == ("1", "changed through the API")


def test_page_opens_on_key_1_with_an_empty_value_once_it_is_deleted(client):
    client.get("/")  # the seed is written on first use; deleting it must stick
    assert client.delete("/api/v1/keys/1").status_code == 204
    html = client.get("/").text
    assert form_fields(html) == ("1", "")
    assert 'id="result"' not in html


@pytest.fixture
def round_trips(monkeypatch):
    """Counts what redis-py sends to the real Redis: one send per command or pipeline."""
    sends = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counted(connection, command, check_health=True):
        sends.append(command)
        return send(connection, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sends


@pytest.mark.parametrize("path", ["/", "/?key=1", "/?key=absent"])
def test_a_page_view_is_one_redis_round_trip(client, round_trips, path):
    client.get(path)  # the first use of the store also writes the seed, once per process
    round_trips.clear()
    response = client.get(path)
    assert response.status_code == 200
    assert len(round_trips) == 1  # the visit count and the key's value together


def test_fresh_store_holds_one_under_key_1(client):
    response = client.get("/?key=1")
    assert response.status_code == 200
    assert form_fields(response.text) == ("1", "one")
    assert result_line(response.text) == "Loaded 1: one"


def test_save_stores_the_value_and_keeps_it_in_the_form(client, redis_client):
    response = post(client, key="colour", cache_value="blue", **SAVE)
    assert response.status_code == 200
    assert form_fields(response.text) == ("colour", "blue")
    assert result_line(response.text) == "Saved colour: blue"
    assert redis_client.get("dockerapp:key:colour") == "blue"


def test_load_puts_the_stored_value_in_the_value_field(client):
    post(client, key="colour", cache_value="blue", **SAVE)
    response = post(client, key="colour", cache_value="typed, not saved", **LOAD)
    assert response.status_code == 200
    assert form_fields(response.text) == ("colour", "blue")
    assert result_line(response.text) == "Loaded colour: blue"


def test_load_of_an_absent_key_empties_the_value_field_and_says_so(client):
    response = post(client, key="nothing-here", cache_value="typed, not saved", **LOAD)
    assert response.status_code == 200
    assert form_fields(response.text) == ("nothing-here", "")
    assert result_line(response.text) == "No value is stored under nothing-here."
    assert "result-value" not in response.text


def test_get_with_key_parameter_fills_the_form(client):
    post(client, key="a b/c", cache_value="bookmarked", **SAVE)
    response = client.get("/?key=a%20b%2Fc")
    assert response.status_code == 200
    assert form_fields(response.text) == ("a b/c", "bookmarked")
    assert result_line(response.text) == "Loaded a b/c: bookmarked"


def test_an_empty_value_is_named_in_the_result(client, redis_client):
    response = post(client, key="blank", cache_value="", **SAVE)
    assert form_fields(response.text) == ("blank", "")
    assert result_line(response.text) == "Saved blank: an empty value"
    assert redis_client.get("dockerapp:key:blank") == ""


def test_a_multi_line_value_fills_the_value_field_exactly(client):
    value = "\nstarts with a newline\n  indented\n"
    client.put("/api/v1/keys/lines", json={"value": value})
    assert form_fields(client.get("/?key=lines").text) == ("lines", value)


def test_save_stores_the_browsers_crlf_line_breaks_as_lf(client, redis_client):
    response = post(client, key="lines", cache_value="one\r\ntwo\r\n", **SAVE)
    assert response.status_code == 200
    assert redis_client.get("dockerapp:key:lines") == "one\ntwo\n"


def test_a_refused_save_keeps_what_was_typed_in_the_form(make_app):
    client = make_app(max_value_bytes=10).test_client()
    response = post(client, key="k", cache_value="x" * 11, **SAVE)
    assert response.status_code == 413
    assert form_fields(response.text) == ("k", "x" * 11)
    assert 'id="result"' not in response.text


def test_markup_in_keys_and_values_is_shown_as_text(client):
    key, value = '"><script>alert(1)</script>', '"></textarea><script>alert("x")</script>'
    response = post(client, key=key, cache_value=value, **SAVE)
    html = response.text
    assert "<script>" not in html
    assert html.count("</textarea>") == 1  # the value cannot close the field early
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html  # quoted attribute
    assert "&#34;&gt;&lt;/textarea&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert form_fields(html) == (key, value)
    assert result_line(html) == f"Saved {key}: {value}"


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
