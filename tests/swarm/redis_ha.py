"""Questions the HA checks ask the Redis and Sentinel tasks of the test swarm, from the outside.

Each stack service redis-N / sentinel-N runs on node N (stack.yml pins it by node label), so a
name tells the node. Commands run redis-cli inside the task's container, authenticated with the
password its Docker secret holds; None means the task does not run or did not answer.
"""

import subprocess

from tests.swarm.cluster import NODES, STACK

PRIMARY_NAME = "dockerapp"  # stack.yml's PRIMARY_NAME
REDIS_NAMES = [f"redis-{number}" for number in (1, 2, 3)]


def node_of(name: str) -> str:
    """The node that runs redis-N or sentinel-N."""
    return NODES[int(name.rsplit("-", 1)[1]) - 1]


def redis_cli(service: str, *arguments: str) -> str | None:
    """redis-cli --raw in the task of `service` (e.g. "redis-2"); its output, or None."""
    node = node_of(service)
    port = "26379" if service.startswith("sentinel-") else "6379"
    try:
        container = subprocess.run(
            ["docker", "exec", node, "docker", "ps", "-q",
             f"--filter=label=com.docker.swarm.service.name={STACK}_{service}"],
            capture_output=True, text=True, timeout=15, check=False,
        ).stdout.split()  # fmt: skip
        if not container:
            return None
        script = 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" exec redis-cli --raw "$@"'
        answer = subprocess.run(
            ["docker", "exec", node, "docker", "exec", container[0], "sh", "-c", script,
             "redis-cli", "-p", port, *arguments],
            capture_output=True, text=True, timeout=15, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return None
    return answer.stdout.strip() if answer.returncode == 0 else None


def primary_by_sentinels(skip_node: str | None = None) -> str | None:
    """The primary (redis-N) that the first answering Sentinel names, skipping a lost node."""
    for number in (1, 2, 3):
        sentinel = f"sentinel-{number}"
        if node_of(sentinel) == skip_node:
            continue
        answer = redis_cli(sentinel, "sentinel", "get-master-addr-by-name", PRIMARY_NAME)
        if answer and answer.split()[0] in REDIS_NAMES:
            return answer.split()[0]
    return None


def role(name: str) -> tuple[str, ...] | None:
    """What ROLE says on redis-N: ("master",) or ("slave", primary, link state); None if down."""
    answer = redis_cli(name, "role")
    if not answer:
        return None
    lines = answer.splitlines()
    return ("master",) if lines[0] == "master" else (lines[0], lines[1], lines[3])


def stored_value(name: str, key: str) -> str | None:
    """The value of the app's key `key` on redis-N itself (a replica answers reads)."""
    return redis_cli(name, "get", f"dockerapp:key:{key}")
