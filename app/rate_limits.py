"""Limits on failed credentials per client address, counted in Redis by Flask-Limiter.

Only failures count (a 401: a wrong password, a missing or wrong token), but every request
to a limited door is checked first: while an address is over its limit even the right
password gets a 429, or guessing could go on at full speed, telling right from wrong by the
status. The counts live in the app's Redis, so every worker and replica shares them.
"""

import math
import time
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits.errors import StorageError

from app import api, login
from app.problems import problem
from app.store import NAMESPACE, Store

FAILURES_ALLOWED = "10 per minute"
WINDOW_SECONDS = 60
LOG_IN = "login.log_in"  # the one endpoint of the login blueprint that counts failures


def failed(response: Response) -> bool:
    """Whether the response refused a credential (what the limits count)."""
    return response.status_code == 401


def init_app(app: Flask, store: Store) -> None:
    """Limit failed token checks on the API and failed logins, where credentials are on."""
    settings = app.extensions["settings"]
    if settings.api_tokens is None and settings.users is None:
        return
    # Moving window: at most 10 failures in any 60 s, also across a minute's boundary. The
    # store's connection pool: the same Redis, password and timeouts. "redis://" only picks
    # limits' Redis storage; the pool decides where it connects. wrap_exceptions turns Redis
    # errors into StorageError: a 503 (app/problems.py), because answering without the count
    # would lift the limit for as long as Redis is away.
    # Any: Flask-Limiter types the values str | int, though its storage (limits) takes a pool.
    storage_options: dict[str, Any] = {
        "connection_pool": store.client.connection_pool,
        "key_prefix": NAMESPACE + "limits",
        "wrap_exceptions": True,
    }
    limiter = Limiter(
        get_remote_address,  # the client's address, as ProxyFix restored it behind the proxy
        app=app,
        strategy="moving-window",
        storage_uri="redis://",
        storage_options=storage_options,
    )
    # Flask-Limiter otherwise works out, on every request (the page's, /health's too), which
    # limits apply: measured, more CPU than the page's own Redis call (docs/performance.md).
    # The filter answers first: only the API and the login's POST have limits at all.
    limiter.request_filter(lambda: request.blueprint != "api" and request.endpoint != LOG_IN)
    if settings.api_tokens is not None:
        limiter.shared_limit(FAILURES_ALLOWED, scope="api", deduct_when=failed)(api.blueprint)
    if settings.users is not None:
        limiter.shared_limit(
            FAILURES_ALLOWED,
            scope="login",
            deduct_when=failed,
            exempt_when=lambda: request.endpoint != LOG_IN,  # logout is never limited
        )(login.blueprint)
    app.extensions["rate_limits"] = limiter
    app.register_error_handler(RateLimitExceeded, too_many_failures)


def too_many_failures(error: RateLimitExceeded) -> Response:
    """429 with Retry-After: the login page for the form, problem+json for the API."""
    seconds = _seconds_until_allowed()
    headers = {"Retry-After": str(seconds)}
    detail = f"Too many failed attempts from your address; try again in {seconds} seconds."
    if request.blueprint == "login":
        name = request.form.get("username", "")
        return login.page(429, username=name, error=detail, headers=headers)
    return problem(429, detail, headers)


def _seconds_until_allowed() -> int:
    # When the oldest failure in the window leaves it; the whole window if Redis cannot say.
    breached = current_app.extensions["rate_limits"].current_limit
    try:
        reset_at = breached.reset_at if breached else time.time() + WINDOW_SECONDS
    except StorageError:
        return WINDOW_SECONDS
    # Flask-Limiter rounds reset_at up to the next second: never more than the window.
    return min(WINDOW_SECONDS, max(1, math.ceil(reset_at - time.time())))
