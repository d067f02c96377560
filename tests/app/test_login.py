"""The page's login: visitors go to /login; one message for any refusal; cookie flags; logout."""

import re

import pytest
from conftest import PASSWORD
from helpers import csrf_token

from app import passwords

REFUSED = "Wrong user name or password."


def log_in(client, username="alice", password=PASSWORD, **options):
    """POST the login form with a fresh CSRF token, as a browser does after GET /login."""
    token = csrf_token(client.get("/login", **options).text)
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form, **options)


def session_cookie(response) -> str:
    """The Set-Cookie header of the session cookie."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return header


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_visitor_without_a_session_is_sent_to_the_login(locked_app, method):
    response = locked_app.test_client().open("/", method=method, data={"submit": "load"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_the_login_form_has_the_fields_and_a_csrf_token(locked_app):
    response = locked_app.test_client().get("/login")
    assert response.status_code == 200
    for field in ('name="username"', 'name="password" autocomplete', 'name="csrf_token"'):
        assert field in response.text


def test_the_login_form_needs_its_csrf_token(locked_app):
    form = {"username": "alice", "password": PASSWORD}
    response = locked_app.test_client().post("/login", data=form)
    assert response.status_code == 400
    assert "CSRF" in response.text


def test_login_then_the_page_works_and_shows_who_and_a_logout_button(locked_app):
    client = locked_app.test_client()
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/?key=1")
    assert page.status_code == 200
    assert 'id="user">alice<' in page.text
    assert re.search(r'<form method="post" action="/logout"', page.text)
    assert 'id="logout">Logout</button>' in page.text
    saved = client.post(
        "/",
        data={
            "csrf_token": csrf_token(page.text),
            "key": "k",
            "cache_value": "v",
            "submit": "save",
        },
    )
    assert saved.status_code == 200
    assert 'id="result-value">v<' in saved.text


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("mallory", PASSWORD), ("", ""), ("alice", "")],
)
def test_unknown_user_and_wrong_password_get_the_same_answer(locked_app, username, password):
    client = locked_app.test_client()
    response = log_in(client, username, password)
    assert response.status_code == 401
    assert f'id="error" class="error" role="alert">{REFUSED}<' in response.text
    assert client.get("/").status_code == 303  # still not logged in


def test_an_unknown_user_costs_a_hash_check_like_a_known_one(monkeypatch, password_hash):
    checked = []
    hasher = passwords.HASHER

    class CountingHasher:
        """The real hasher, noting each hash it checks against."""

        hash = hasher.hash

        def verify(self, password_hash, password):
            checked.append(password_hash)
            return hasher.verify(password_hash, password)

    monkeypatch.setattr(passwords, "HASHER", CountingHasher())
    assert passwords.check(None, PASSWORD) is False
    assert passwords.check(password_hash, "wrong") is False
    assert passwords.check(password_hash, PASSWORD) is True
    assert len(checked) == 3
    assert checked[0].startswith("$argon2id$v=19$m=19456,t=2,p=1$")  # the same cost


def test_the_session_cookie_is_httponly_samesite_and_expiring_in_development(locked_app):
    cookie = session_cookie(log_in(locked_app.test_client()))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    assert "Secure" not in cookie  # the dev stack is plain http on localhost


@pytest.mark.parametrize("overrides", [{"app_env": "production"}, {"proxy_hops": 1}])
def test_the_session_cookie_is_secure_in_production_or_behind_the_proxy(make_locked_app, overrides):
    client = make_locked_app(**overrides).test_client()
    https = {
        "base_url": "https://dockerapp.test",
        "headers": {"Referer": "https://dockerapp.test/login"},
    }
    response = log_in(client, **https)
    assert response.status_code == 303
    cookie = session_cookie(response)
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert client.get("/", **https).status_code == 200


def test_the_session_is_renewed_at_login(locked_app, redis_client):
    client = locked_app.test_client()
    first_csrf = csrf_token(client.get("/login").text)
    log_in(client)
    login_keys = redis_client.keys("dockerapp:login:*")
    log_in(client)  # again, from the same browser
    (login_key,) = redis_client.keys("dockerapp:login:*")  # the first login ended
    assert [login_key] != login_keys
    assert csrf_token(client.get("/").text) != first_csrf


def test_the_login_expires_with_its_record(make_locked_app, redis_client):
    client = make_locked_app(session_lifetime_seconds=120).test_client()
    log_in(client)
    (login_key,) = redis_client.keys("dockerapp:login:*")
    assert 0 < redis_client.ttl(login_key) <= 120
    redis_client.delete(login_key)  # what expiry does
    assert client.get("/").status_code == 303


def test_logout_ends_the_session_even_for_a_copy_of_the_cookie(locked_app, redis_client):
    client = locked_app.test_client()
    log_in(client)
    kept = client.get_cookie("session").value  # an attacker's copy
    page = client.get("/").text
    response = client.post("/logout", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert redis_client.keys("dockerapp:login:*") == []
    assert client.get("/").status_code == 303
    replay = locked_app.test_client()
    replay.set_cookie("session", kept)
    assert replay.get("/").status_code == 303


def test_without_a_users_file_the_page_is_open_and_login_leads_to_it(make_app):
    client = make_app().test_client()
    assert client.get("/").status_code == 200
    assert client.get("/login").headers["Location"] == "/"


def test_login_with_redis_down_is_503_not_500(make_locked_app, flaky_app, forwarder, password_hash):
    app = make_locked_app(redis_url=flaky_app.extensions["settings"].redis_url)
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    forwarder.cut()
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=form)
    assert response.status_code == 503
    assert response.headers["Retry-After"]
