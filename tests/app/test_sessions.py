"""Session cookies: one signer while the secret stays the same, a new one when it changes; a
cookie sent again only when the session changed."""

from conftest import PASSWORD
from helpers import csrf_token


def test_the_signer_is_reused_while_the_secret_stays_the_same(app):
    sessions = app.session_interface
    assert sessions.get_signing_serializer(app) is sessions.get_signing_serializer(app)


def test_a_new_secret_gets_a_new_signer_and_old_cookies_stop_validating(app):
    sessions = app.session_interface
    cookie = sessions.get_signing_serializer(app).dumps({"csrf_token": "abc"})
    app.secret_key = "another secret, rotated in"
    serializer = sessions.get_signing_serializer(app)
    assert serializer.loads(serializer.dumps({"a": 1})) == {"a": 1}
    assert serializer.loads_unsafe(cookie)[0] is False  # signature no longer valid


def test_a_fallback_secret_keeps_old_cookies_valid(app):
    sessions = app.session_interface
    old_secret = app.secret_key
    cookie = sessions.get_signing_serializer(app).dumps({"csrf_token": "abc"})
    app.secret_key = "the new secret"
    app.config["SECRET_KEY_FALLBACKS"] = [old_secret]
    assert sessions.get_signing_serializer(app).loads(cookie) == {"csrf_token": "abc"}


def test_an_unchanged_login_session_is_not_sent_again_and_keeps_working(locked_app):
    # Flask's default re-signs and re-sends a permanent session on every response; the login's
    # end is fixed at login (its Redis record), so app/sessions.py sends it only when changed.
    client = locked_app.test_client()
    token = csrf_token(client.get("/login").text)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    assert session_cookies(client.post("/login", data=form))  # a new session at login
    assert client.get("/").status_code == 200  # the page's CSRF token joins the session
    for _ in range(2):
        page = client.get("/")
        assert page.status_code == 200
        assert 'id="user">alice<' in page.text
        assert session_cookies(page) == []
    assert session_cookies(client.post("/logout", data={"csrf_token": csrf_token(page.text)}))
    assert client.get("/").status_code == 303  # logged out: the kept cookie is refused


def session_cookies(response) -> list[str]:
    """The response's Set-Cookie headers for the session cookie."""
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
