"""Small helpers shared by the tests."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"]  # run in REPO
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Whether `condition()` came true within `seconds` (polled every 0.1 s)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def free_port() -> int:
    """A free 127.0.0.1 port in the range the project gives the app's tests (15000-15999)."""
    for port in range(15400, 16000):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 15400-15999")


def csrf_token(html: str) -> str:
    """The CSRF token embedded in the page's form."""
    return first_group(r'name="csrf_token" value="([^"]+)"', html)


def first_group(pattern: str, text: str, flags: int = 0) -> str:
    """The first group of `pattern`'s first match in `text`; fails the test if none matches."""
    match = re.search(pattern, text, flags)
    assert match, f"nothing matches {pattern!r}"
    return match[1]


def assert_problem(response, status: int) -> None:
    """An RFC 9457 problem details response (Flask test client) with the given status."""
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert set(response.json) >= PROBLEM_FIELDS
    assert response.json["status"] == status
    assert response.json["detail"]


@contextmanager
def gunicorn(
    redis_url: str,
    metrics_dir: Path,
    *options: str,
    environment: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """gunicorn.conf.py with two workers on a free port, plus `options` and `environment`
    variables, serving the app/ in `cwd`; yields (URL, process)."""
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "REDIS_URL": redis_url,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **(environment or {}),
    }
    process = subprocess.Popen(
        [*GUNICORN, *options],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    # Generous bounds: under QEMU (make test-app-arm64) a worker takes seconds to import the app.
    # A poll waits for its answer rather than giving up after a second, because a request that
    # gunicorn has accepted is served even after the client gave up, and would count in /metrics.
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                wait = max(0.1, deadline - time.monotonic())
                urllib.request.urlopen(base + "/healthz", timeout=wait).close()
                break
            except OSError:
                assert process.poll() is None, process.communicate()[1]
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
