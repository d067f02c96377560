"""The app served for real, for tests that drive it from outside: a browser and schemathesis.

APP_URL set (e.g. by `make test`, pointing at the Compose-served container): use it as is.
Otherwise start /usr/bin/redis-server and gunicorn (with gunicorn.conf.py) on free 127.0.0.1
ports in 15600-15999, for the session, and stop them afterwards.

Screenshots of the page go to ARTIFACTS_DIR (default: test-artifacts/ at the repository root,
which git ignores), for a person to open after the run.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from tests.host_helpers import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    """Poll `url` until it answers, failing early if `process` died."""

    def answers() -> bool:
        assert process.poll() is None, f"{process.args[0]} exited with {process.returncode}"
        urllib.request.urlopen(url, timeout=1).close()
        return True

    wait_until(answers, seconds, f"{url} to answer", interval=0.1, retry_on=(OSError,))


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots); kept after the run."""
    directory = Path(os.environ.get("ARTIFACTS_DIR") or REPO / "test-artifacts")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="session")
def app_url():
    """The base URL of a running dockerapp (no trailing slash)."""
    if os.environ.get("APP_URL"):
        yield os.environ["APP_URL"].rstrip("/")
        return
    workdir = Path(tempfile.mkdtemp(prefix="dockerapp-browser-"))
    redis_port = free_port(range(15600, 16000))
    app_port = free_port(range(redis_port + 1, 16000))
    redis_server = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(app_port),
        "WEB_CONCURRENCY": "2",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
    }
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{app_port}"
        wait_until_up(url + "/readyz", gunicorn)
        yield url
    finally:
        for process in (gunicorn, redis_server):
            process.terminate()
            process.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)
