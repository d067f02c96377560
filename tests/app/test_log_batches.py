"""The batched log writer that gunicorn workers switch on (app/logs.py, gunicorn.conf.py)."""

import json
import logging
import select

import pytest

from app.logs import LOGGER, JsonFormatter, StdoutHandler, write_in_batches


class RecordingStdout:
    """A stdout whose binary buffer keeps every write apart, to check how lines were grouped."""

    def __init__(self):
        self.writes: list[bytes] = []
        self.buffer = self

    def write(self, data: bytes) -> int:
        self.writes.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def record(number: int) -> logging.LogRecord:
    message = f"line {number} " + "x" * 150
    return logging.LogRecord("dockerapp.access", logging.INFO, __file__, 1, message, None, None)


def test_batched_lines_go_out_whole_in_order_and_in_pipe_sized_writes(monkeypatch):
    stdout = RecordingStdout()
    monkeypatch.setattr("sys.stdout", stdout)
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    handler.batch_every(3600)  # no timed flush during the test: only size and flush() count
    for number in range(100):
        handler.handle(record(number))
    assert len(stdout.writes) < 100  # batched: fewer writes than lines
    handler.flush()
    assert all(len(write) <= select.PIPE_BUF for write in stdout.writes)
    assert all(write.endswith(b"\n") for write in stdout.writes)  # whole lines in every write
    lines = b"".join(stdout.writes).decode().splitlines()
    numbers = [json.loads(line)["message"].split()[1] for line in lines]
    assert numbers == [str(n) for n in range(100)]


def test_without_batching_each_line_is_written_at_once(monkeypatch, capsys):
    handler = StdoutHandler()
    handler.setFormatter(JsonFormatter())
    handler.handle(record(7))
    assert json.loads(capsys.readouterr().out)["message"].startswith("line 7 ")


def test_switching_on_batches_without_a_handler_to_batch_fails_loudly(monkeypatch):
    # Silently batching nothing would bring back a write (and an engine wakeup) per line.
    monkeypatch.setattr(logging.getLogger(LOGGER), "handlers", [logging.StreamHandler()])
    with pytest.raises(RuntimeError, match="configure_logging"):
        write_in_batches(0.1)
