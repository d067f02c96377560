"""The batched log writer that gunicorn workers switch on (app/logs.py, gunicorn.conf.py)."""

import json
import logging
import select

from app.logs import LOGGER, StdoutHandler, json_formatter, write_in_batches


class RecordingStdout:
    """A stdout whose binary buffer keeps every write apart, to check how lines were grouped."""

    def __init__(self) -> None:
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
    handler.setFormatter(json_formatter())
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
    handler.setFormatter(json_formatter())
    handler.handle(record(7))
    assert json.loads(capsys.readouterr().out)["message"].startswith("line 7 ")


def test_switching_on_batches_says_so_and_finds_only_this_modules_handlers(monkeypatch):
    logger = logging.getLogger(LOGGER)
    monkeypatch.setattr(logger, "level", logging.INFO)
    monkeypatch.setattr(logger, "handlers", [logging.StreamHandler()])  # not a StdoutHandler
    assert write_in_batches(3600) == 0
    stdout = RecordingStdout()
    monkeypatch.setattr("sys.stdout", stdout)
    ours = StdoutHandler()
    ours.setFormatter(json_formatter())
    monkeypatch.setattr(logger, "handlers", [ours])
    assert write_in_batches(3600) == 1
    assert stdout.writes == []  # the line waits for its batch
    ours.flush()
    assert "written in batches" in json.loads(b"".join(stdout.writes))["message"]
