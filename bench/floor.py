"""The floor for bench/bench_http.py: bare Flask making exactly the app's Redis calls.

No request ids, access log, metrics, sessions, CSRF or page template: what is left is Flask
plus the Redis round trips each request needs. The app's distance from the ceiling splits into
what storage costs (ceiling to floor) and what the app adds on top (floor to app).
"""

from flask import Flask, jsonify, request

from app.config import Settings
from app.store import Store

store = Store.from_settings(Settings.from_environ())
app = Flask(__name__)


@app.get("/")
def page() -> str:
    """The page's one Redis call: count the visit."""
    return f"visits: {store.count_visit()}"


@app.get("/api/v1/keys/<path:key>")
def get_key(key: str):
    """The API's read: value and TTL in one round trip."""
    entry = store.get(key)
    return jsonify(key=key, value=entry.value, ttl=entry.ttl)


@app.put("/api/v1/keys/<path:key>")
def put_key(key: str):
    """The API's write: SET ... GET, which says whether the key is new."""
    value = request.get_json()["value"]
    created = store.put(key, value)
    return jsonify(key=key, value=value, ttl=None), 201 if created else 200
