"""Load: a sustained, bounded wrk run on the production stack; zero errors, flat memory.

PROOF_LOAD_SECONDS (default 60) and PROOF_LOAD_CONNECTIONS (default 64) size the run. wrk keeps
its connections alive, so the run does not exhaust ephemeral ports (see shared notes on TIME_WAIT).
"""

import json
import os
import re
import subprocess
from pathlib import Path

import requests

from tests.host_helpers import docker

from .client import TIMEOUT
from .stack import APP, REDIS

LOAD_SECONDS = int(os.environ.get("PROOF_LOAD_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("PROOF_LOAD_CONNECTIONS", "64"))
WARM_UP_SECONDS = 5  # first requests import modules and fill pools: measure memory after them
SCRIPT = Path(__file__).with_name("mixed_load.lua")
ERROR_KINDS = ("connect", "read", "write", "timeout", "http_errors")
UNITS = {"B": 1 / 2**20, "KiB": 1 / 2**10, "MiB": 1, "GiB": 2**10}


def memory_mib(stack, service: str) -> float:
    """The container's memory use as `docker stats` reports it, in MiB."""
    usage = docker(
        "stats", "--no-stream", "--format", "{{.MemUsage}}", stack.container(service)
    ).stdout
    number, unit = re.match(r"([\d.]+)\s*([KMG]?i?B)", usage).groups()
    return float(number) * UNITS[unit]


# Sums the resident memory of gunicorn's processes, read from /proc inside the app container;
# prints the count too, so that a missing process cannot pass as "no growth".
GUNICORN_RSS = """
import glob
total = count = 0
for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
    pid = cmdline.split("/")[2]
    try:
        if b"gunicorn" not in open(cmdline, "rb").read():
            continue
        status = open(f"/proc/{pid}/status").read().splitlines()
    except OSError:
        continue
    total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    count += 1
print(count, total)
"""


def gunicorn_memory_mib(stack) -> float:
    """The resident memory of the app's own processes (gunicorn's master and workers), in MiB.

    A leak grows some process's resident set. The container's figure (memory_mib) and the
    processes' proportional sets also move without one: pages a worker inherited from the
    master become its own copies as it touches them (a full garbage collection touches them
    all), and the container is charged for each copy. Measured under authenticated load
    (2026-12-05): the container's figure rose by about 24 MiB in one step a minute into the
    run and then stayed flat for two minutes, while each worker's resident set grew under 1 MiB.
    """
    count, kib = map(int, stack.exec(APP, "python", "-c", GUNICORN_RSS).stdout.split())
    assert count >= 2, f"found {count} gunicorn processes in the app container"
    return kib / 1024


def allowed_growth_mib(start: float) -> float:
    """The stated bound: memory may grow by a quarter, or 16 MiB for a small process."""
    return max(16.0, start / 4)


def credential_headers(stack) -> list[str]:
    """wrk's -H options: the API's bearer token, and the cookie of a logged-in session."""
    with requests.Session() as session:
        session.get(stack.url("/"), timeout=TIMEOUT).raise_for_status()  # logs in first
        cookie = "; ".join(f"{name}={value}" for name, value in session.cookies.items())
    return ["-H", f"Authorization: {stack.credentials.bearer()}", "-H", f"Cookie: {cookie}"]


def wrk(stack, seconds: int, connections: int) -> dict:
    """Run wrk against the published port; return the JSON line its `done` hook prints."""
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",  # a reply slower than this counts as an error; latency itself is only reported
        "-s",
        str(SCRIPT),
        *credential_headers(stack),
        stack.base_url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next(line for line in output.splitlines() if line.startswith("PROOF "))
    result = json.loads(line.removeprefix("PROOF "))
    result["errors"] = {kind: result[kind] for kind in ERROR_KINDS if result[kind]}
    if result["statuses"]:
        result["errors"]["statuses"] = result["statuses"]  # which 4xx/5xx, e.g. {"503": 2}
    return result


def test_sustained_load_has_no_errors_and_memory_stays_flat(stack, figure):
    """Sustained load on prod.yml (wrk, keep-alive): zero errors, app memory within its bound"""
    seeded = requests.put(
        stack.url("/api/v1/keys/load-seed"), json={"value": "v" * 512}, timeout=TIMEOUT
    )
    assert seeded.status_code in (200, 201)
    warm_up = wrk(stack, WARM_UP_SECONDS, CONNECTIONS)
    start, redis_start = gunicorn_memory_mib(stack), memory_mib(stack, REDIS)
    container_start = memory_mib(stack, APP)
    run = wrk(stack, LOAD_SECONDS, CONNECTIONS)
    end, redis_end = gunicorn_memory_mib(stack), memory_mib(stack, REDIS)
    container_end = memory_mib(stack, APP)
    limit_mib = stack.inspect(APP)["HostConfig"]["Memory"] / 2**20
    figure(
        seconds=run["seconds"],
        connections=CONNECTIONS,
        requests=run["requests"],
        errors=sum(run[kind] for kind in ERROR_KINDS),
        warm_up_errors=sum(warm_up[kind] for kind in ERROR_KINDS),
        error_statuses=run["statuses"] or "-",
        req_per_s=round(run["requests"] / run["seconds"]),
        p99=f"{run['p99_ms']:.0f} ms",
        app_memory=f"{start:.0f} -> {end:.0f} MiB",
        app_container_memory=f"{container_start:.0f} -> {container_end:.0f} MiB",
        redis_memory=f"{redis_start:.1f} -> {redis_end:.1f} MiB",
        # The host's load average: on a shared machine it explains a slow or failing run.
        host_load=f"{os.getloadavg()[0]:.1f}",
    )
    assert run["requests"] > 0
    assert not warm_up["errors"] and not run["errors"], (warm_up["errors"], run["errors"])
    assert end - start <= allowed_growth_mib(start), f"app memory grew {start:.0f} -> {end:.0f} MiB"
    # Everything charged to the container, kernel memory included, stays far from its limit.
    assert limit_mib > 0 and container_end <= limit_mib / 2, (container_end, limit_mib)
    assert stack.inspect(APP)["RestartCount"] == 0
