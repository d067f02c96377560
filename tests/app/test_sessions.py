"""Session cookies: one signer while the secret stays the same, a new one when it changes."""


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
