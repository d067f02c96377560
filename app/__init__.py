"""dockerapp: a small Flask service that keeps its state in Redis."""

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from app import api, health, logs, metrics, openapi, problems, request_id, security, views
from app.config import Settings
from app.store import Store
from app.validation import check_url_is_utf8


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
    )
    app.extensions["settings"] = settings
    app.extensions["store"] = Store.from_settings(settings)
    app.url_map.converters["key"] = api.KeyConverter
    app.url_map.merge_slashes = False  # a key may hold "//"

    # Order matters: request ids and timers first, so even a request refused by CSRF is logged.
    request_id.init_app(app)
    logs.init_app(app)
    metrics.init_app(app)
    problems.init_app(app)

    @app.before_request
    def refuse_non_utf8_url() -> None:
        check_url_is_utf8(request.environ.get("PATH_INFO", ""), request.query_string)

    CSRFProtect(app).exempt(api.blueprint)  # the API takes JSON only, which forms cannot send
    for blueprint in (views.blueprint, api.blueprint, health.blueprint, openapi.blueprint):
        app.register_blueprint(blueprint)
    app.wsgi_app = security.SecurityHeaders(app.wsgi_app)
    return app
