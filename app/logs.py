"""JSON log lines on stdout: one object per line, for the access log and the application.

A dozen lines of formatter are simpler than another dependency; gunicorn.conf.py uses the same
formatter for gunicorn's own messages.
"""

import json
import logging
import sys
import time
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

from app.request_id import current_request_id

LOGGER = "dockerapp"
access_log = logging.getLogger(f"{LOGGER}.access")
# Attributes every LogRecord has; anything else was passed in `extra` and belongs in the line.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            line["request_id"] = current_request_id()
        line.update(
            (name, value) for name, value in vars(record).items() if name not in STANDARD_ATTRIBUTES
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class StdoutHandler(logging.StreamHandler):
    """Writes to sys.stdout as it is at each line, so a replaced stdout (pytest) gets the lines."""

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _ignored) -> None:
        pass


def configure_logging(level: str) -> None:
    """Send the app's loggers to stdout as JSON lines at `level` (safe to call again)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # one line per event, even when gunicorn configures the root logger


def init_app(app: Flask) -> None:
    """Write one access line per request, after the response is ready."""

    @app.before_request
    def start_clock() -> None:
        g.log_started_at = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        if not access_log.isEnabledFor(logging.INFO):
            return response
        started = g.get("log_started_at", time.perf_counter())
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "remote_addr": request.remote_addr,
            },
        )
        return response
