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
        if has_request_context() and current_request_id():
            line["request_id"] = current_request_id()
        line.update(
            (name, value) for name, value in vars(record).items() if name not in STANDARD_ATTRIBUTES
        )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send the app's loggers to stdout as JSON lines at `level` (safe to call again)."""
    logger = logging.getLogger(LOGGER)
    handler = next((h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    else:
        handler.setStream(sys.stdout)  # follows a replaced sys.stdout, e.g. under pytest
    logger.setLevel(level)
    logger.propagate = False  # one line per event, even when gunicorn configures the root logger


def init_app(app: Flask) -> None:
    """Write one access line per request, after the response is ready."""

    @app.before_request
    def start_clock() -> None:
        g.log_started_at = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
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
