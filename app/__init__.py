"""dockerapp: a small Flask service that keeps its state in Redis.

`create_app()` is the entry point (gunicorn.conf.py serves `app:create_app()`); the factory
itself is in app/factory.py. Importing this package imports nothing else, so that a module
such as app.config can be imported on its own, without loading Flask and the whole app.

The modules, one concern each (a request for a key goes api → validation → store and back):

    factory.py           create_app(): wires the modules below; no Redis call
    config.py            Settings, from the environment only (+ *_FILE), checked at start
    store.py             Redis: one key prefix, timeouts, one retry, SCAN listing; current_store()
    redis_connection.py  a Redis TCP connection whose host name lookup has a deadline
    name_lookup.py       that lookup: dnspython with its `lifetime`, /etc/hosts first
    sentinel.py          the Redis primary found through Sentinel (REDIS_SENTINELS)
    validation.py        the key, value and TTL rules (the page and the API share them)
    url_checks.py        every URL: 414 over MAX_URL_LENGTH, 400 when not UTF-8
    gunicorn_limits.py   what gunicorn refuses before the app runs; imports nothing
    views.py             the HTML page (templates/, static/; Flask-WTF CSRF)
    api.py               /api/v1/keys
    credentials.py       the API_TOKENS_FILE and USERS_FILE files; constant-time token check
    bearer.py            the API's Authorization: Bearer check (401 + WWW-Authenticate)
    login.py             /login, /logout; visitors without a login are sent to /login
    login_sessions.py    login records in Redis
    passwords.py         argon2id password checks (argon2-cffi)
    hash_password.py     the hasher `make user` runs
    rate_limits.py       Flask-Limiter: failed logins and token checks per address, in Redis
    sessions.py          Flask's cookie sessions, with the signer built once
    problems.py          errors: RFC 9457 problem+json for the API, HTML pages for people
    health.py            /healthz, /readyz; HOSTNAME
    metrics.py           /metrics (prometheus_client, multiprocess mode)
    middleware.py        WSGI wrappers: security headers, X-Request-ID, the access line
    logs.py              JSON log lines on stdout (python-json-logger), written in batches
    log_fields.py        the fields of every log line, gunicorn's too; imports nothing
    openapi/             /openapi.json (OpenAPI 3.1): the route, paths.py, components.py
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings


def create_app(settings: "Settings | None" = None) -> "Flask":
    """Build the WSGI application; it touches Redis only when a request needs it."""
    from app.factory import create_app as build  # here, so that importing `app` stays light

    return build(settings)
