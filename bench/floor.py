"""The floor for bench/bench_http.py: bare Flask doing only what the contract requires.

The same Redis calls as the app; for the page, also what its form requires: a CSRF token (and
so a signed session cookie) in the same template. No request ids, access log, metrics, security
headers or input checks. The app's distance from the ceiling splits into what the contract
costs (ceiling to floor) and what dockerapp adds on top (floor to app).
"""

from pathlib import Path

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFProtect

from app.config import Settings
from app.store import Store

settings = Settings.from_environ()
store = Store.from_settings(settings)
app = Flask(__name__, root_path=str(Path(__file__).resolve().parents[1] / "app"))
app.config["SECRET_KEY"] = settings.secret_key
csrf = CSRFProtect(app)


@app.get("/")
def page() -> str:
    """The page: count the visit, render the form with its CSRF token."""
    return render_template("index.html", visits=store.count_visit(), hostname="floor")


@app.get("/api/v1/keys/<path:key>")
def get_key(key: str):
    """The API's read: value and TTL in one round trip."""
    entry = store.get(key)
    return jsonify(key=key, value=entry.value, ttl=entry.ttl)


@app.put("/api/v1/keys/<path:key>")
@csrf.exempt  # JSON, as in the app
def put_key(key: str):
    """The API's write: SET ... GET, which says whether the key is new."""
    value = request.get_json()["value"]
    created = store.put(key, value)
    return jsonify(key=key, value=value, ttl=None), 201 if created else 200
