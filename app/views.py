"""The HTML page: save a value under a key, load it back, see visits and the serving host."""

import socket

from flask import Blueprint, current_app, render_template, request

from app.store import Store
from app.validation import InvalidInput, check_key, check_value

blueprint = Blueprint("pages", __name__)
HOSTNAME = socket.gethostname()  # the container's name, so people can watch replicas take turns


def store() -> Store:
    """The app's store."""
    return current_app.extensions["store"]


def page(
    status: int = 200,
    key: str | None = None,
    value: str | None = None,
    message: str | None = None,
    error: str | None = None,
) -> tuple[str, int]:
    """Render the page: visit count, host name, and the result of a save or load."""
    visits = store().count_visit()
    result = {"key": key, "value": value, "message": message, "error": error}
    return render_template("index.html", visits=visits, hostname=HOSTNAME, **result), status


@blueprint.get("/")
def index() -> tuple[str, int]:
    """The form; with ?key=K it also shows K and its value (a bookmarkable lookup)."""
    key = request.args.get("key")
    if key is None:
        return page()
    return load(key)


@blueprint.post("/")
def submit() -> tuple[str, int]:
    """Save or load, as chosen by the button pressed (CSRF was checked by Flask-WTF)."""
    form = request.form
    action = form.get("submit")
    if action not in ("save", "load"):
        return page(400, error="Press Save or Load (the form field submit is missing).")
    if "key" not in form:
        return page(400, error="The form field key is missing.")
    if action == "load":
        return load(form["key"])
    if "cache_value" not in form:
        return page(400, error="The form field cache_value is missing.")
    return save(form["key"], form["cache_value"])


def load(key: str) -> tuple[str, int]:
    """Show the value stored under `key`, or say there is none."""
    try:
        entry = store().get(check_key(key))
    except InvalidInput as error:
        return page(error.status, key=key, error=f"Invalid key: {error}.")
    if entry is None:
        return page(key=key, message="No value is stored under this key.")
    return page(key=key, value=entry.value, message="Loaded.")


def save(key: str, value: str) -> tuple[str, int]:
    """Store `value` under `key` and show both."""
    try:
        check_key(key)
        check_value(value, current_app.config["MAX_VALUE_BYTES"])
    except InvalidInput as error:
        return page(error.status, key=key, error=f"Not saved: {error}.")
    store().put(key, value)
    return page(key=key, value=value, message="Saved.")
