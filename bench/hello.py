"""The ceiling for bench/bench_http.py: a bare Flask app that answers every path, GET or PUT."""

from flask import Flask

app = Flask(__name__)


@app.route("/", defaults={"path": ""}, methods=["GET", "PUT"])
@app.route("/<path:path>", methods=["GET", "PUT"])
def hello(path: str) -> str:
    """Hello, world: the least a Flask request can cost."""
    return "Hello, world!"
