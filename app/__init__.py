"""dockerapp: a small Flask service that keeps its state in Redis."""

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

from app import api, health, logs, metrics, openapi, problems, security, views
from app.config import Settings
from app.request_id import RequestId
from app.request_limits import check_url_length
from app.sessions import ReusedSignerSessionInterface
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
    app.session_interface = ReusedSignerSessionInterface()
    app.extensions["settings"] = settings
    app.extensions["store"] = Store.from_settings(settings)
    app.url_map.converters["key"] = api.KeyConverter
    app.url_map.merge_slashes = False  # a key may hold "//"

    metrics.init_app(app)
    problems.init_app(app)

    @app.before_request
    def refuse_bad_urls() -> None:
        check_url_length(request.environ)
        check_url_is_utf8(request.environ.get("PATH_INFO", ""), request.query_string)

    CSRFProtect(app).exempt(api.blueprint)  # the API takes JSON only, which forms cannot send
    for blueprint in (views.blueprint, api.blueprint, health.blueprint, openapi.blueprint):
        app.register_blueprint(blueprint)
    # Outermost first: every response gets the headers, then the request id and start time,
    # then the access line, written whatever Flask made of the request.
    app.wsgi_app = security.SecurityHeaders(RequestId(logs.AccessLog(app.wsgi_app)))
    return app
