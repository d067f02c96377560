"""Logs: one JSON object per line on stdout, access lines and application lines alike."""

import json
import logging
from datetime import UTC, datetime, timedelta


def log_lines(capsys) -> list[dict]:
    """Every stdout line so far, each parsed as JSON (fails if one is not)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


# capsys comes first and the app is built inside each test, so that the app's log handler
# writes to the stdout that capsys captures.


def test_each_request_writes_one_json_access_line(capsys, make_app):
    client = make_app().test_client()
    client.get("/api/v1/keys/1", headers={"X-Request-ID": "req-1"})
    (line,) = [line for line in log_lines(capsys) if line["logger"] == "dockerapp.access"]
    assert line["level"] == "INFO"
    assert line["time"].endswith("+00:00")
    assert line["request_id"] == "req-1"
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/keys/1"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


def test_errors_are_logged_as_json_with_the_request_id(capsys, make_app, forwarder):
    app = make_app(redis_url=f"redis://127.0.0.1:{forwarder.port}/0")
    forwarder.cut()
    app.test_client().get("/api/v1/keys/k", headers={"X-Request-ID": "req-2"})
    lines = log_lines(capsys)
    warning = next(line for line in lines if line["level"] == "WARNING")
    assert warning["logger"] == "dockerapp.errors"
    assert warning["request_id"] == "req-2"
    assert "storage unavailable" in warning["message"]
    assert any(line.get("status") == 503 for line in lines)


def test_log_level_setting_filters_lines(capsys, make_app, forwarder):
    app = make_app(log_level="WARNING", redis_url=f"redis://127.0.0.1:{forwarder.port}/0")
    client = app.test_client()
    log_lines(capsys)
    client.get("/healthz")
    assert log_lines(capsys) == []  # no INFO access line...
    forwarder.cut()
    client.get("/api/v1/keys/k")
    assert [line["level"] for line in log_lines(capsys)] == ["WARNING"]  # ...but the warnings
    logging.getLogger("dockerapp").setLevel("INFO")


def test_newlines_in_paths_cannot_forge_log_lines(capsys, make_app):
    client = make_app().test_client()
    client.get("/api/v1/keys/a%0A%7B%22level%22%3A%22FAKE%22%7D")
    lines = log_lines(capsys)
    # The request's one access line holds the newline inside its path, and no line is forged.
    assert [line["path"] for line in lines] == ['/api/v1/keys/a\n{"level":"FAKE"}']
    assert all(line["level"] != "FAKE" for line in lines)


def test_requests_that_flask_refuses_are_logged_too(capsys, make_app):
    client = make_app().test_client()
    client.post("/", data={"submit": "save", "key": "k", "cache_value": "v"})  # no CSRF token
    client.get("/no/such/page")
    lines = [line for line in log_lines(capsys) if line["logger"] == "dockerapp.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/", 400),
        ("GET", "/no/such/page", 404),
    ]
    assert all(len(line["request_id"]) == 32 for line in lines)


def test_logged_paths_are_utf8_text(capsys, make_app):
    make_app().test_client().get("/api/v1/keys/caf%C3%A9")
    (line,) = [line for line in log_lines(capsys) if line["logger"] == "dockerapp.access"]
    assert line["path"] == "/api/v1/keys/café"


def test_each_line_says_when_in_utc_what_and_where(capsys, make_app):
    before = datetime.now(UTC)
    make_app().test_client().get("/healthz")
    (line,) = [line for line in log_lines(capsys) if line["logger"] == "dockerapp.access"]
    assert {"time", "level", "logger", "message"} <= line.keys()
    logged = datetime.fromisoformat(line["time"])
    assert logged.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= logged <= datetime.now(UTC)  # 1 s: clock rounding


def test_an_exception_is_logged_in_the_line_as_text(capsys, make_app):
    make_app()  # configures the app's logging
    try:
        raise ValueError("the reason")
    except ValueError:
        logging.getLogger("dockerapp.test").exception("it failed")
    (line,) = log_lines(capsys)
    assert line["message"] == "it failed"
    assert "ValueError: the reason" in line["exception"]
