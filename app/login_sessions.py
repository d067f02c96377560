"""Who is logged in: one Redis record per login, so that logging out really ends it.

The session cookie is Flask's signed cookie (it also carries the CSRF token) and holds only a
random login id. A signed cookie alone stays valid until it expires, even after logout; the
record behind the id is what logout deletes, and its TTL ends a forgotten login. A dozen
lines on the store's Redis client (its timeouts, its 503s) instead of a server-side session
library that would move every session, CSRF tokens included, into Redis.
"""

import secrets
from typing import cast

import redis

from app.store import NAMESPACE, reaching_redis

LOGINS = NAMESPACE + "login:"


class LoginSessions:
    """Login records in Redis: login id -> user name, expiring."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def start(self, user: str, lifetime_seconds: int) -> str:
        """Record a login of `user` for `lifetime_seconds`; return its new, random id."""
        login_id = secrets.token_urlsafe(32)
        with reaching_redis():
            self.client.set(LOGINS + login_id, user, ex=lifetime_seconds)
        return login_id

    def user(self, login_id: str) -> str | None:
        """The user logged in under `login_id`, or None (never started, ended or expired)."""
        with reaching_redis():
            # A str (the client decodes replies), which redis-py's types cannot tell.
            return cast(str | None, self.client.get(LOGINS + login_id))

    def end(self, login_id: str) -> None:
        """End the login: its id is refused from now on."""
        with reaching_redis():
            self.client.delete(LOGINS + login_id)
