"""gunicorn settings for dockerapp (`gunicorn --config gunicorn.conf.py`).

Environment: HOST and PORT (bind address), WEB_CONCURRENCY (worker processes; default: the
CPUs this process may use), PROMETHEUS_MULTIPROC_DIR (where workers share their metrics).

This file imports nothing from app/: gunicorn's master process runs it, and every worker is
forked from the master, so a module of the app imported here would reach each worker as it was
when the server started, and `--reload` (the dev loop) would never serve an edit to it.
"""

import os
import runpy
import subprocess
import sys
from pathlib import Path

from gunicorn import glogging
from prometheus_client import multiprocess


def _fail(message: str) -> None:
    # One line and a non-zero exit instead of a traceback per worker.
    print(f"dockerapp: configuration error: {message}", file=sys.stderr)
    sys.exit(2)


def _worker_count() -> int:
    raw = os.environ.get("WEB_CONCURRENCY") or str(len(os.sched_getaffinity(0)))
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        _fail(f"WEB_CONCURRENCY={raw!r} must be a whole number from 1 to 64")
    return int(raw)


# Check every setting before any worker starts, in a child interpreter (why: see the top).
_check = subprocess.run(
    [sys.executable, "-m", "app.config"], cwd=Path(__file__).parent, capture_output=True, text=True
)
if _check.returncode:
    _fail(_check.stderr.strip())

wsgi_app = "app:create_app()"
host, port = os.environ.get("HOST") or "0.0.0.0", os.environ.get("PORT") or "5000"
if not port.isdigit() or not 1 <= int(port) <= 65535:
    _fail(f"PORT={port!r} must be a port number from 1 to 65535")
bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # IPv6 addresses need brackets

# Threads, not sync workers: sync workers close the connection after every response, so
# keep-alive clients and load balancers pay a TCP handshake and a TIME_WAIT port per request.
# Measured choice: see docs/api.md, "Performance".
worker_class = "gthread"
workers = _worker_count()
threads = 4
keepalive = 5  # seconds; above typical client reuse gaps, below most load balancers' idle timeouts
timeout = 30
# On SIGTERM, in-flight requests get this long: under the 10 s that Docker, Compose and Swarm
# wait by default before SIGKILL, so a stop never cuts a response off.
graceful_timeout = 8
control_socket_disable = True  # no gunicornc socket in $HOME; several servers may share a host
# gunicorn answers requests over these limits itself, as text/html, before the app runs; the
# numbers and why: app/gunicorn_limits.py, which /openapi.json reads too. Run as a file rather
# than imported, so that the master holds no module of the app (why: see the top).
_limits = runpy.run_path(str(Path(__file__).parent / "app" / "gunicorn_limits.py"))
limit_request_line = _limits["LIMIT_REQUEST_LINE"]
limit_request_fields = _limits["LIMIT_REQUEST_FIELDS"]
limit_request_field_size = _limits["LIMIT_REQUEST_FIELD_SIZE"]


class ErrorLogOnly(glogging.Logger):
    """gunicorn's logger without its access log: the app writes those lines (app/middleware.py).

    With logconfig_dict set, gunicorn counts its access log as on and builds every request's log
    fields (each header and environ entry) for a logger with no handler: ~25 µs per request.
    """

    def access(self, resp, req, environ, request_time) -> None:
        pass


# Access lines come from the app (they carry the request id); gunicorn's own messages are JSON
# too, with the fields of the app's lines: app/log_fields.py, run as a file like the limits.
_fields = runpy.run_path(str(Path(__file__).parent / "app" / "log_fields.py"))
accesslog = None
logger_class = ErrorLogOnly
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": _fields["LINE_FIELDS"],
            "rename_fields": _fields["FIELD_NAMES"],
            "timestamp": _fields["TIME_FIELD"],
        }
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stdout",
        }
    },
    "root": {"level": "INFO", "handlers": ["stdout"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["stdout"], "propagate": False}},
}


def post_worker_init(worker) -> None:
    """Write the app's log lines in batches, at most 0.1 s late, instead of one write each.

    Under Docker every write to stdout also costs the engine a wakeup of the container's shim
    and of dockerd: measured, more CPU than the app spends on the line (docs/performance.md).
    """
    from app import logs  # the worker's, which the app it has just loaded logs through

    logs.write_in_batches(0.1)


def on_starting(server) -> None:
    """Start with an empty metrics directory, so counts from an earlier run don't linger."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):
            stale.unlink()


def child_exit(server, worker) -> None:
    """prometheus_client's hook for a dead worker: its counters stay summed, its gauges go."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
