"""Flask's signed-cookie sessions, without rebuilding the cookie signer on every request.

Flask opens the session on every request, even an API call that never touches it, and builds
a new itsdangerous serializer each time; building one costs more than the rest of the session
handling (it test-serializes a value). The serializer depends only on the keys, so it is kept
for as long as they stay the same. Measured (`make bench-python`, issue 24): without this
cache, GET key cost ~15 µs more CPU per request (~4 %), on every request, API included.
"""

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class ReusedSignerSessionInterface(SecureCookieSessionInterface):
    """The default cookie session, with one signing serializer per set of keys."""

    def __init__(self) -> None:
        self._cached: tuple[tuple, URLSafeTimedSerializer | None] = ((), None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._cached
        if keys != cached_keys:
            serializer = super().get_signing_serializer(app)
            self._cached = (keys, serializer)  # one tuple: threads never see a half update
        return serializer
