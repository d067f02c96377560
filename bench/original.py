"""The original course app's serving model, a reference for bench/containers.py.

The original dockerapp answered GET / by reading one Redis key twice (once to test it, once to
show it) and rendering a small HTML form, under Flask's built-in development server, which in
Flask 0.11 served one request at a time and closed the connection after each response. This is
that work and that server, on today's Flask and redis-py: `python bench/original.py`.
"""

import os

import redis
from flask import Flask, render_template, request
from jinja2 import DictLoader

KEY = "1"
PAGE = """<!doctype html>
<html>
<head><title>dockerapp</title></head>
<body>
<form method="post" action="/">
  <label>Key <input type="text" name="key" value="{{ key }}"></label>
  <label>Value <input type="text" name="cache_value" value="{{ value or '' }}"></label>
  <button type="submit" name="submit" value="save">Save</button>
  <button type="submit" name="submit" value="load">Load</button>
</form>
</body>
</html>
"""

app = Flask(__name__)
app.jinja_loader = DictLoader({"index.html": PAGE})  # a cached template, as a file would be
cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://redis:6379/0"))


@app.route("/", methods=["GET", "POST"])
def main_page() -> str:
    """The form, filled with the key and its value; POST with submit=save stores the value."""
    key = request.form.get("key", KEY)
    if request.method == "POST" and request.form.get("submit") == "save":
        cache.set(key, request.form.get("cache_value", ""))
    value = cache.get(key).decode() if cache.get(key) else None  # two GETs, as the original
    return render_template("index.html", key=key, value=value)


if __name__ == "__main__":
    cache.set(KEY, "one")
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")), threaded=False)
