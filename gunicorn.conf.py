"""gunicorn settings for dockerapp (`gunicorn --config gunicorn.conf.py`).

Environment: HOST and PORT (bind address), WEB_CONCURRENCY (worker processes; default: the
CPUs this process may use), PROMETHEUS_MULTIPROC_DIR (where workers share their metrics).
"""

import os
import sys
from pathlib import Path

from gunicorn import glogging
from prometheus_client import REGISTRY, Counter, Histogram, multiprocess

from app import request_limits
from app.config import ConfigError, Settings


def _fail(message: str) -> None:
    # One line and a non-zero exit instead of a traceback per worker.
    print(f"dockerapp: configuration error: {message}", file=sys.stderr)
    sys.exit(2)


def _worker_count() -> int:
    raw = os.environ.get("WEB_CONCURRENCY") or str(len(os.sched_getaffinity(0)))
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        _fail(f"WEB_CONCURRENCY={raw!r} must be a whole number from 1 to 64")
    return int(raw)


try:
    Settings.from_environ()  # check every setting before any worker starts
except ConfigError as error:
    _fail(str(error))

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
# gunicorn answers requests over these limits itself, as text/html, before the app runs. The
# request line gets gunicorn's maximum so that over-long URLs reach the app's own, lower limit
# and get a problem+json 414 (app/request_limits.py; documented in /openapi.json).
limit_request_line = request_limits.GUNICORN_LIMIT_REQUEST_LINE
limit_request_fields = request_limits.GUNICORN_LIMIT_REQUEST_FIELDS
limit_request_field_size = request_limits.GUNICORN_LIMIT_REQUEST_FIELD_SIZE


class ErrorLogOnly(glogging.Logger):
    """gunicorn's logger without its access log: the app writes the access lines (app/logs.py).

    With logconfig_dict set, gunicorn counts its access log as on and builds every request's log
    fields (each header and environ entry) for a logger with no handler: ~25 µs per request.
    """

    def access(self, resp, req, environ, request_time) -> None:
        pass


# Access lines come from the app (they carry the request id); gunicorn's own messages are JSON too.
accesslog = None
logger_class = ErrorLogOnly
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.logs.JsonFormatter"}},
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
    # The worker's own app.logs, imported again by the worker under --reload (pre_fork): the
    # module this file imported at start is not the one whose handler the app now logs through.
    from app import logs as worker_logs

    worker_logs.write_in_batches(0.1)


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


def pre_fork(server, worker) -> None:
    """With --reload, make each new worker import the app's code afresh from disk.

    This file imports the app package (settings check, limits, the log formatter), so the
    master holds the code as it was at start and every worker forked from it would inherit
    that, however often --reload restarts them: the edit would never be served. The metrics
    the old code registered go too, or the fresh import would register them a second time.
    """
    if not server.cfg.reload:
        return
    old_metrics = sys.modules.get("app.metrics")
    for value in vars(old_metrics).values() if old_metrics else ():
        if isinstance(value, Counter | Histogram):
            REGISTRY.unregister(value)
    for name in [name for name in sys.modules if name == "app" or name.startswith("app.")]:
        del sys.modules[name]
