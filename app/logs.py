"""JSON log lines on stdout: one object per line, for the access log and the application.

python-json-logger formats each line; this module adds the request id to it and writes the
lines in batches (StdoutHandler). The access lines come from app/middleware.py.
"""

import contextlib
import logging
import select
import sys
import threading
import time

from pythonjsonlogger.json import JsonFormatter

from app.log_fields import FIELD_NAMES, LINE_FIELDS, TIME_FIELD
from app.middleware import current_request_id

LOGGER = "dockerapp"


def json_formatter() -> JsonFormatter:
    """The formatter of every line: level, logger, message, then extras, then the time."""
    return JsonFormatter(
        LINE_FIELDS, rename_fields=FIELD_NAMES, timestamp=TIME_FIELD, json_ensure_ascii=False
    )


def add_request_id(record: logging.LogRecord) -> bool:
    """Give a line logged while a request is handled that request's id (a handler filter)."""
    if not hasattr(record, "request_id"):  # access lines bring theirs in `extra`
        request_id = current_request_id()
        if request_id:
            record.request_id = request_id
    return True


class StdoutHandler(logging.StreamHandler):
    """Writes to sys.stdout as it is at each line, so a replaced stdout (pytest) gets the lines.

    After batch_every(), lines are written together instead of one write each: under Docker,
    every write to stdout wakes the container's shim and dockerd, which costs the engine more
    CPU than the line costs the app (docs/performance.md).
    """

    def __init__(self) -> None:
        super().__init__()
        self._batching = False
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _ignored) -> None:
        pass

    def batch_every(self, seconds: float) -> None:
        """From now on, write lines together, at most `seconds` after they were logged.

        A write goes out when the next line would take it over PIPE_BUF bytes: up to that size
        a write reaches a pipe in one piece, so the lines of workers sharing stdout never mix.
        """

        def flush_periodically() -> None:
            while True:
                time.sleep(seconds)
                with contextlib.suppress(OSError):  # stdout gone: lost, as they'd be unbatched
                    self.flush()

        if not self._batching:
            self._batching = True
            threading.Thread(target=flush_periodically, name="log-flush", daemon=True).start()

    def emit(self, record: logging.LogRecord) -> None:
        if not self._batching:
            super().emit(record)
            return
        try:
            line = (self.format(record) + self.terminator).encode()
        except Exception:  # as logging.StreamHandler does: report, never fail the request
            self.handleError(record)
            return
        if self._pending_bytes + len(line) > select.PIPE_BUF:
            self.flush()
        self._pending.append(line)
        self._pending_bytes += len(line)

    def flush(self) -> None:
        """Write the lines waiting, in one write."""
        self.acquire()
        try:
            if self._pending:
                self.stream.buffer.write(b"".join(self._pending))
                self._pending.clear()
                self._pending_bytes = 0
            super().flush()
        finally:
            self.release()


def write_in_batches(seconds: float) -> int:
    """Batch the app's stdout lines, at most `seconds` late (gunicorn.conf.py, in each worker).

    Says so in one log line, so that batching which silently did nothing (the handler of
    another copy of this module) shows; returns how many handlers it switched over.
    """
    logger = logging.getLogger(LOGGER)
    handlers = [handler for handler in logger.handlers if isinstance(handler, StdoutHandler)]
    for handler in handlers:
        handler.batch_every(seconds)
    if handlers:
        logger.info("log lines are written in batches, at most %s s late", seconds)
    return len(handlers)


def configure_logging(level: str) -> None:
    """Send the app's loggers to stdout as JSON lines at `level` (safe to call again)."""
    logger = logging.getLogger(LOGGER)
    if not any(isinstance(handler, StdoutHandler) for handler in logger.handlers):
        handler = StdoutHandler()
        handler.setFormatter(json_formatter())
        handler.addFilter(add_request_id)
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # one line per event, even when gunicorn configures the root logger
