"""The original course app (jleetutorial/dockerapp), rewritten to do what it did, on its stack.

A reference for bench/containers.py: one module, a Redis client made at import for the host
`redis`, key "1" seeded with "one" at start, and one page: GET / reads the key twice (once to
test it, once to show it) and renders the form; POST with submit=save stores a value first.
Flask's development server serves it, as `app.run()` did: one request at a time, each
connection closed after its response. Written for Python 3.11 and the pins of requirements.txt
(Flask 0.11.1, Werkzeug 0.16.1, redis-py 2.10.5); its Dockerfile builds it.
"""

import redis
from flask import Flask, render_template, request

DEFAULT_KEY = "1"

app = Flask(__name__)
cache = redis.StrictRedis(host="redis", port=6379, db=0)
cache.set(DEFAULT_KEY, "one")


@app.route("/", methods=["GET", "POST"])
def main_page():
    """The form, filled with the key and the value stored under it."""
    key = request.form.get("key", DEFAULT_KEY)
    if request.method == "POST" and request.form.get("submit") == "save":
        cache.set(key, request.form.get("cache_value", ""))
    value = None
    if cache.get(key):  # the original tested the key, then read it again to show it
        value = cache.get(key).decode("utf-8")
    return render_template("index.html", key=key, cache_value=value)


if __name__ == "__main__":
    app.run(host="0.0.0.0")
