"""dockerapp: a Flask service that keeps its state in Redis (placeholder factory, being built)."""

from flask import Flask


def create_app() -> Flask:
    """Build the WSGI application."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app
