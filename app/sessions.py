"""Flask's signed-cookie sessions, without rebuilding the cookie signer on every request, and
without re-sending an unchanged cookie on every response.

Flask opens the session on every request, even an API call that never touches it, and builds
a new itsdangerous serializer each time; building one costs more than the rest of the session
handling (it test-serializes a value). The serializer depends only on the keys, so it is kept
for as long as they stay the same. Measured (`make bench-python`, issue 24): without this
cache, GET key cost ~15 µs more CPU per request (~4 %), on every request, API included.

A logged-in session is permanent (its cookie has an expiry), and Flask by default signs, compresses
and sends it again on every response to push that expiry forward. Here that buys nothing: the
login lasts as long as its Redis record (app/login_sessions.py), whose expiry is set once at login
and never pushed forward, and the cookie was given the same lifetime then. So the cookie is sent
only when the session changed (login, logout, a new CSRF token). Measured: docs/performance.md.
"""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class ReusedSignerSessionInterface(SecureCookieSessionInterface):
    """The default cookie session: one signing serializer per set of keys, sent when changed."""

    def __init__(self) -> None:
        self._cached: tuple[tuple, URLSafeTimedSerializer | None] = ((), None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._cached
        if keys != cached_keys:
            serializer = super().get_signing_serializer(app)
            self._cached = (keys, serializer)  # one tuple: threads never see a half update
        return serializer

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        # Flask's default also re-sends every permanent session (SESSION_REFRESH_EACH_REQUEST);
        # a login's end is fixed at login, so re-sending would not extend anything (see the top).
        return session.modified
