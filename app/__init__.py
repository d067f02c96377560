"""dockerapp: a small Flask service that keeps its state in Redis.

`create_app()` is the entry point (gunicorn.conf.py serves `app:create_app()`); the factory
itself is in app/factory.py. Importing this package imports nothing else, so that a module
such as app.config can be imported on its own, without loading Flask and the whole app.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from app.config import Settings


def create_app(settings: "Settings | None" = None) -> "Flask":
    """Build the WSGI application; it touches Redis only when a request needs it."""
    from app.factory import create_app as build  # here, so that importing `app` stays light

    return build(settings)
