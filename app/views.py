"""The HTML page: save a value under a key, load it back, see visits and the serving host."""

from flask import Blueprint, current_app, render_template, request

from app.health import HOSTNAME
from app.store import SEED, current_store
from app.validation import InvalidInput, check_key, check_value

blueprint = Blueprint("pages", __name__)
DEFAULT_KEY = SEED[0]  # as in the original, the page opens on key "1" and its value


def page(
    status: int = 200,
    key: str = "",
    value: str = "",
    outcome: str | None = None,
    error: str | None = None,
    visits: int | None = None,
) -> tuple[str, int]:
    """Render the page: visits, host, the form holding `key` and `value`, and the outcome.

    `outcome` is "saved", "loaded" or "missing" (no value under `key`); `error` says what failed.
    `visits`: the count already taken with a read; otherwise this view is counted here.
    """
    if visits is None:
        visits = current_store().count_visit()
    fields = {"key": key, "value": value, "outcome": outcome, "error": error}
    return render_template("index.html", visits=visits, hostname=HOSTNAME, **fields), status


@blueprint.get("/")
def index() -> tuple[str, int]:
    """The form, filled with key "1" and its value; with ?key=K, K's (a bookmarkable Load)."""
    key = request.args.get("key")
    if key is None:
        visits, value = current_store().count_visit_and_read(DEFAULT_KEY)
        return page(key=DEFAULT_KEY, value=value or "", visits=visits)
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
    """Fill the form with `key` and the value stored under it, or say there is none."""
    try:
        check_key(key)
    except InvalidInput as error:
        return page(error.status, key=key, error=f"Invalid key: {error}.")
    visits, value = current_store().count_visit_and_read(key)  # one round trip for the whole page
    if value is None:
        return page(key=key, outcome="missing", visits=visits)
    return page(key=key, value=value, outcome="loaded", visits=visits)


def save(key: str, value: str) -> tuple[str, int]:
    """Store `value` under `key`; the form keeps both, saved or not, so nothing typed is lost."""
    # Browsers send a textarea's line breaks as CRLF: storing LF keeps a value that was
    # loaded and saved unchanged the same, and matches what people type.
    value = value.replace("\r\n", "\n")
    try:
        check_key(key)
        check_value(value, current_app.config["MAX_VALUE_BYTES"])
    except InvalidInput as error:
        return page(error.status, key=key, value=value, error=f"Not saved: {error}.")
    current_store().put(key, value)
    return page(key=key, value=value, outcome="saved")
