"""Real Redis processes for the replication tests: a primary, its replica, and Sentinels.

Each runs /usr/bin/redis-server (Sentinel is the same binary with --sentinel) on a free
127.0.0.1 port with its files in a temporary directory, and is stopped by stop_all().
"""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import redis
from conftest import wait_for_redis
from helpers import free_port

REDIS_SERVER = "/usr/bin/redis-server"
PRIMARY_NAME = "dockerapp"


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


class RedisProcesses:
    """Starts Redis servers and Sentinels; each start waits until the process answers PING."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="dockerapp-replication-"))
        self.processes: list[subprocess.Popen] = []

    def _start(self, command: list[str], port: int) -> redis.Redis:
        self.processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        url = f"redis://127.0.0.1:{port}/0"
        wait_for_redis(url)  # listening: the next free_port() cannot pick this port again
        return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)

    def server(self, *options: str) -> redis.Redis:
        """A Redis server (no persistence) with extra `options`, e.g. --replicaof."""
        port = free_port()
        directory = self.workdir / str(port)
        directory.mkdir()
        return self._start(
            [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(directory),
             "--repl-diskless-sync-delay", "0",  # a replica syncs at once, not after 5 s
             *options],
            port,
        )  # fmt: skip

    def replica_of(self, primary: redis.Redis) -> redis.Redis:
        """A replica of `primary`, once it has synced."""
        replica = self.server("--replicaof", "127.0.0.1", str(port_of(primary)))
        wait_until(lambda: in_sync(replica, primary), 10, "the replica syncs with its primary")
        # After a diskless sync the primary streams writes only once the replica's first
        # acknowledgement came (up to a second later): the tests start once a write got through.
        with primary.pipeline(transaction=False) as pipe:
            pipe.set("replica-check", "1")
            pipe.execute_command("WAIT", 1, 10_000)
            assert pipe.execute()[1] == 1, "the replica does not acknowledge a write"
        return replica

    def sentinel(self, primary: redis.Redis) -> redis.Redis:
        """A Sentinel monitoring `primary` as PRIMARY_NAME (quorum 1), with a writable config."""
        port = free_port()
        config = self.workdir / f"sentinel-{port}.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {PRIMARY_NAME} 127.0.0.1 {port_of(primary)} 1\n"
            f"sentinel down-after-milliseconds {PRIMARY_NAME} 1000\n"
            f"sentinel failover-timeout {PRIMARY_NAME} 5000\n"
        )
        return self._start([REDIS_SERVER, str(config), "--sentinel"], port)

    def stop_all(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(10)
        shutil.rmtree(self.workdir, ignore_errors=True)


def port_of(client: redis.Redis) -> int:
    return client.connection_pool.connection_kwargs["port"]


def in_sync(replica: redis.Redis, primary: redis.Redis) -> bool:
    """Both sides agree: the replica's link is up and the primary counts it online.

    Until the primary has the replica's first acknowledgement, WAIT does not count it.
    """
    if replica.info("replication").get("master_link_status") != "up":
        return False
    listed = primary.info("replication").get("slave0") or {}
    return listed.get("state") == "online"


def primary_port_by(sentinel: redis.Redis) -> int:
    """The primary's port as `sentinel` sees it now."""
    _, port = cast(tuple[str, int], sentinel.sentinel_get_master_addr_by_name(PRIMARY_NAME))
    return int(port)


def peers_seen_by(sentinel: redis.Redis) -> int:
    """How many other Sentinels `sentinel` knows (they find each other through the primary)."""
    return int(cast(dict, sentinel.sentinel_master(PRIMARY_NAME))["num-other-sentinels"])
