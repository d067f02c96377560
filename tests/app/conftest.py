"""Fixtures: a real Redis (TEST_REDIS_URL, or a redis-server spawned here), the app, clients.

TEST_REDIS_URL points at a Redis that the suite may FLUSHDB: give it a database of its own,
e.g. redis://redis:6379/15 in Compose. Without it, /usr/bin/redis-server is started on a free
127.0.0.1 port for the session and stopped afterwards.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

# prometheus_client picks its multiprocess mode when imported, so this comes before any
# import of the app: the suite exercises the mode that gunicorn runs in, with a fresh directory.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dockerapp-metrics-")

from forwarder import Forwarder
from helpers import free_port

from app import create_app
from app.config import Settings

REPO = Path(__file__).resolve().parents[2]
SECRET = "test-secret-shared-by-every-instance"


def pytest_unconfigure(config):
    """Remove the session's metrics directory."""
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def wait_for_redis(url: str, seconds: float = 10) -> None:
    """Wait until Redis at `url` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=1)
    deadline = time.monotonic() + seconds
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of the real Redis the suite runs against."""
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    workdir = tempfile.mkdtemp(prefix="dockerapp-redis-")
    port = free_port()
    server = subprocess.Popen(
        [
            "/usr/bin/redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        url = f"redis://127.0.0.1:{port}/0"
        wait_for_redis(url)
        yield url
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def redis_client(redis_url):
    """A direct client to the test database, emptied before each test."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def make_app(redis_client, redis_url):
    """Build an app against the test Redis; keyword arguments override Settings fields."""

    def make(**overrides):
        settings = Settings(**{"redis_url": redis_url, "secret_key": SECRET, **overrides})
        return create_app(settings)

    return make


@pytest.fixture
def app(make_app):
    """The app, against a clean test database."""
    return make_app()


@pytest.fixture
def client(app):
    """A test client of the app (it keeps cookies, like a browser)."""
    return app.test_client()


@pytest.fixture
def forwarder(redis_url):
    """A cuttable TCP hop in front of the test Redis."""
    parts = urlsplit(redis_url)
    hop = Forwarder((parts.hostname, parts.port or 6379)).start()
    yield hop
    hop.stop()


@pytest.fixture
def flaky_app(make_app, redis_url, forwarder):
    """The app reaching Redis through the forwarder."""
    parts = urlsplit(redis_url)
    netloc = re.sub(r"[^@]*$", f"127.0.0.1:{forwarder.port}", parts.netloc, count=1)
    return make_app(redis_url=urlunsplit(parts._replace(netloc=netloc)))


PASSWORD = "correct horse battery staple"
TOKENS = ("token-one-0123456789abcdef", "token-two-fedcba9876543210")


@pytest.fixture(scope="session")
def password_hash() -> str:
    """An argon2id hash of PASSWORD, made as `make user` makes them."""
    from app.passwords import HASHER

    return HASHER.hash(PASSWORD)


@pytest.fixture
def make_locked_app(make_app, password_hash):
    """Build an app with credentials on: user alice (PASSWORD) and the two TOKENS."""

    def make(**overrides):
        return make_app(**{"users": {"alice": password_hash}, "api_tokens": TOKENS, **overrides})

    return make


@pytest.fixture
def locked_app(make_locked_app):
    """The app with credentials on, as in production."""
    return make_locked_app()
