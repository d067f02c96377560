"""The application factory: builds the Flask app from the settings and wires the modules."""

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app import api, health, login, logs, metrics, middleware, openapi, problems, rate_limits, views
from app.config import Settings
from app.login_sessions import LoginSessions
from app.sessions import ReusedSignerSessionInterface
from app.store import Store
from app.url_checks import refuse_bad_urls


def create_app(settings: Settings | None = None) -> Flask:
    """Build the WSGI application; it touches Redis only when a request needs it."""
    settings = settings or Settings.from_environ()
    logs.configure_logging(settings.log_level)
    app = Flask(__name__)
    # Flask-WTF signs CSRF tokens with SECRET_KEY: one shared secret makes a token from any
    # worker or replica valid on all of them.
    body_limit = 6 * settings.max_value_bytes + 4096  # room for JSON escapes and form encoding
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_VALUE_BYTES=settings.max_value_bytes,
        MAX_CONTENT_LENGTH=body_limit,
        MAX_FORM_MEMORY_SIZE=body_limit,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime_seconds,
    )
    app.session_interface = ReusedSignerSessionInterface()
    store = Store.from_settings(settings)
    app.extensions.update(settings=settings, store=store, logins=LoginSessions(store.client))
    app.url_map.converters["key"] = api.KeyConverter
    app.url_map.merge_slashes = False  # a key may hold "//"

    metrics.init_app(app)
    problems.init_app(app)

    app.before_request(refuse_bad_urls)  # a 414 or 400 before anything reads the URL
    app.before_request(login.require_login)  # before the CSRF check: visitors go to /login
    CSRFProtect(app).exempt(api.blueprint)  # the API takes JSON only, which forms cannot send
    rate_limits.init_app(app, store)  # its check runs before the API's token check
    blueprints = (views.blueprint, login.blueprint, api.blueprint, health.blueprint)
    for blueprint in (*blueprints, openapi.blueprint):
        app.register_blueprint(blueprint)
    # Security headers, request id, access line (their order: app/middleware.py).
    # Replacing wsgi_app is how Flask's docs add WSGI middleware; mypy sees a method there.
    app.wsgi_app = middleware.wrap(app.wsgi_app)  # type: ignore[method-assign]
    if settings.proxy_hops:
        # Outside everything, so the access log and the rate limits see the client's address
        # from X-Forwarded-For, trusted for exactly PROXY_HOPS proxies; with 0 it is ignored.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app
