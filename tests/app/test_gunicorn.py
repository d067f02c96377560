"""gunicorn.conf.py, run for real: bind, workers, JSON logs, config errors, metrics, SIGTERM."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import GUNICORN, REPO, first_group, gunicorn, wait_until

from app import gunicorn_limits
from app.url_checks import MAX_URL_LENGTH


def gunicorn_settings(unset: tuple[str, ...] = (), **environ: str) -> dict:
    """The settings gunicorn.conf.py computes under `environ`, read in a fresh interpreter."""
    probe = (
        "import json, runpy; s = runpy.run_path('gunicorn.conf.py');"
        "print(json.dumps({k: s[k] for k in ('bind', 'workers', 'worker_class', 'threads',"
        " 'graceful_timeout', 'accesslog', 'wsgi_app', 'limit_request_line',"
        " 'limit_request_fields', 'limit_request_field_size')}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in unset} | environ
    output = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout)


def test_binds_all_interfaces_on_port_5000_by_default():
    assert gunicorn_settings(unset=("HOST", "PORT"))["bind"] == "0.0.0.0:5000"


def test_bind_follows_host_and_port():
    assert gunicorn_settings(HOST="127.0.0.1", PORT="8080")["bind"] == "127.0.0.1:8080"
    assert gunicorn_settings(HOST="::", PORT="8080")["bind"] == "[::]:8080"


def test_workers_default_to_the_cpu_count_and_web_concurrency_overrides():
    cpus = len(os.sched_getaffinity(0))
    assert gunicorn_settings(unset=("WEB_CONCURRENCY",))["workers"] == cpus
    assert gunicorn_settings(WEB_CONCURRENCY="3")["workers"] == 3


def test_serves_the_app_factory_with_keep_alive_threads_and_a_grace_period():
    settings = gunicorn_settings()
    assert settings["wsgi_app"] == "app:create_app()"
    assert settings["worker_class"] == "gthread"
    assert settings["graceful_timeout"] > 0
    assert settings["accesslog"] is None  # the app writes the access lines, with request ids


def test_gunicorn_lets_every_url_up_to_the_apps_limit_through_to_the_app():
    # The request line is "METHOD URL HTTP/1.1"; OPTIONS is the longest method the app serves.
    longest_line = len("OPTIONS ") + MAX_URL_LENGTH + len(" HTTP/1.1")
    assert gunicorn_settings()["limit_request_line"] >= longest_line


def test_the_limits_gunicorn_enforces_are_those_the_app_documents():
    settings = gunicorn_settings()
    assert settings["limit_request_line"] == gunicorn_limits.LIMIT_REQUEST_LINE
    assert settings["limit_request_fields"] == gunicorn_limits.LIMIT_REQUEST_FIELDS
    assert settings["limit_request_field_size"] == gunicorn_limits.LIMIT_REQUEST_FIELD_SIZE


def test_the_server_config_loads_neither_flask_nor_the_app():
    # gunicorn's master runs this file and forks every worker from itself: whatever it imports,
    # the workers inherit as it was at start, which --reload would then never refresh.
    probe = (
        "import runpy, sys; runpy.run_path('gunicorn.conf.py');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'app')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"APP_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY"),
        (
            {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "USERS_FILE": "/dev/null"},
            "API_TOKENS_FILE is missing",
        ),
        (
            {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "API_TOKENS_FILE": "/dev/null"},
            "USERS_FILE is missing",
        ),
        ({"USERS_FILE": "/nonexistent/users"}, "USERS_FILE: cannot read /nonexistent/users"),
        ({"MAX_VALUE_BYTES": "-1"}, "MAX_VALUE_BYTES"),
        ({"WEB_CONCURRENCY": "0"}, "WEB_CONCURRENCY"),
        ({"PORT": "http"}, "PORT"),
    ],
)
def test_a_bad_setting_stops_startup_with_one_line(environ, variable):
    env = {**os.environ, "SECRET_KEY": "", "SECRET_KEY_FILE": "", **environ}
    env.setdefault("API_TOKENS_FILE", "")
    env.setdefault("USERS_FILE", "")
    result = subprocess.run(GUNICORN, cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]


def healthz_count(base: str) -> float:
    """The /healthz 200 count that /metrics reports."""
    text = urllib.request.urlopen(base + "/metrics").read().decode()
    labels = 'endpoint="health.healthz",method="GET",status="200"'
    return float(first_group(rf"dockerapp_http_requests_total\{{{labels}\}} (\S+)", text))


@pytest.fixture
def served(redis_url, tmp_path):
    """gunicorn with two workers and its own metrics directory; yields (base URL, process)."""
    with gunicorn(redis_url, tmp_path / "metrics") as server:
        yield server


def test_metrics_add_up_across_workers_alive_and_dead(served, tmp_path):
    base, _ = served
    for _ in range(20):
        urllib.request.urlopen(base + "/healthz").close()
    # Stop a worker that served some: gunicorn starts another, and the counts must stay.
    counter_file = next((tmp_path / "metrics").glob("counter_*.db"))
    os.kill(int(counter_file.stem.split("_")[1]), signal.SIGTERM)
    for _ in range(20):
        urllib.request.urlopen(base + "/healthz").close()
    # Whichever worker serves /metrics reports the same whole total: 40 + the readiness poll.
    assert {healthz_count(base) for _ in range(6)} == {41.0}


def test_sigterm_stops_gracefully_with_json_logs(served):
    base, process = served
    urllib.request.urlopen(base + "/healthz", timeout=2).close()
    process.send_signal(signal.SIGTERM)
    stdout, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert any(
        line["logger"] == "dockerapp.access" and line["path"] == "/healthz" for line in lines
    )
    assert any(
        line["logger"] == "gunicorn.error" and "Shutting down" in line["message"] for line in lines
    )
    # gunicorn's lines and the app's start with the same fields (gunicorn.conf.py, app/logs.py).
    assert {tuple(line)[:3] for line in lines} == {("level", "logger", "message")}
    assert all("time" in line for line in lines)


def test_reloading_workers_write_their_log_lines_in_batches(redis_url, tmp_path):
    # Each worker imports the app itself (the master imports none of it), and post_worker_init
    # batches the handler of that worker's app.logs, and says so when it did.
    with gunicorn(redis_url, tmp_path / "metrics", "--reload") as (base, process):
        urllib.request.urlopen(base + "/healthz", timeout=2).close()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert any("written in batches" in line["message"] for line in lines)
    assert any(line.get("path") == "/healthz" for line in lines)


def test_reload_serves_an_edit_to_any_module_of_the_app(redis_url, tmp_path):
    # A module that the master process had imported would reach each new worker as it was at
    # start. The URL limit once was one: gunicorn.conf.py imported it with gunicorn's limits.
    source = tmp_path / "source"
    shutil.copytree(REPO / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "gunicorn.conf.py", source)
    long_url = "/healthz?" + "x" * 200
    with gunicorn(redis_url, tmp_path / "metrics", "--reload", cwd=source) as (base, _):
        urllib.request.urlopen(base + long_url, timeout=2).close()  # 200: within the limit
        limits = source / "app" / "url_checks.py"
        edited = limits.read_text().replace("MAX_URL_LENGTH = 4096", "MAX_URL_LENGTH = 100")
        limits.write_text(edited)
        served = wait_until(lambda: served_after_touches(limits, base + long_url), 60)
        assert served, "edit not served"


def served_after_touches(edited: Path, url: str) -> bool:
    """Whether the edit is served yet; if not, give the edited file a newer mtime every 2 s.

    gunicorn's polling reloader notes each file's mtime the first time it scans it and reloads
    on a later, newer one. A worker whose app was imported less than one poll (1 s) before the
    edit scans the file first with the edited mtime and would never reload: the touches give it
    the later change it needs, without restarting the workers on every poll.
    """
    if refused_as_too_long(url):
        return True
    if time.time() - edited.stat().st_mtime >= 2:
        os.utime(edited)
    return False


def refused_as_too_long(url: str) -> bool:
    """Whether GET url is answered 414 (False while a worker restarts)."""
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError as error:
        return error.code == 414
    except OSError:
        pass
    return False
