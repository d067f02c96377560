"""A/B of the load generator itself: wrk's own CPU per request, with and without its Lua script.

`make bench` runs wrk with bench/not_2xx.lua, whose response() callback makes wrk hand every
answer to Lua; wrk shares the 2 cores with the servers it measures. This measures what that
costs, and what wrk costs at 16 and 64 connections, against dockerapp's runtime image and the
original, in rounds (medians printed; the per-round req/s too, as the original's vary):

    python3 bench/wrk_cost.py [--rounds 2] [--seconds 5]
"""

import argparse
import json
import os
import statistics
from contextlib import ExitStack

import cpu_usage
import wrk_output
from containers import Wrk
from servers import (
    IMAGE,
    ORIGINAL_IMAGE,
    PROJECT,
    WRK_IMAGE,
    Server,
    build_images,
    cgroup_cpu_file,
    docker,
    remove,
)
from variants import start


def measure(wrk: Wrk, server: Server, connections: int, script: bool, seconds: int) -> tuple:
    """One wrk run: req/s, p99, wrk's CPU µs per request, the server's, errors."""
    container = wrk.container(server.network)
    options = ["-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    options += ["--script=/bench/not_2xx.lua"] if script else []
    wrk_cpu = cgroup_cpu_file(container)
    wrk_before, before = cpu_usage.cgroup_seconds(wrk_cpu), cpu_usage.sample(*server.cpu_files)
    text = docker("exec", container, "wrk", *options, server.url + "/", timeout=seconds + 60)
    after, wrk_after = cpu_usage.sample(*server.cpu_files), cpu_usage.cgroup_seconds(wrk_cpu)
    figures, usage = wrk_output.parse(text), cpu_usage.between(before, after)
    wrk_micros = (wrk_after - wrk_before) / figures.requests * 1e6
    server_micros = usage.server_cores / figures.rps * 1e6
    return figures.rps, figures.p99, wrk_micros, server_micros, figures.errors


def main() -> None:
    """Start dockerapp and the original next to one Redis; measure wrk with and without Lua."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    build_images()
    config = json.loads(docker("compose", "--file=docker-compose.yml", "config", "--format=json"))
    redis_service = config["services"]["redis"]
    rows: dict[tuple, list] = {}
    with ExitStack() as stack:
        stack.callback(remove, "image", "rm", "--force", IMAGE, WRK_IMAGE, ORIGINAL_IMAGE)
        network = f"{PROJECT}-wrk-cost"
        docker("network", "create", network)
        stack.callback(remove, "network", "rm", network)
        redis = start(stack, network, "redis", [redis_service["image"], *redis_service["command"]])
        servers = [
            Server(name, network, name, start(stack, network, name, image), redis)
            for name, image in (("dockerapp", []), ("original", [ORIGINAL_IMAGE]))
        ]
        wrk = Wrk(stack)
        for server in servers:
            server.prepare(None)
            wrk.load(server, "/", 16, 2)  # warm-up
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for _ in range(arguments.rounds):
            for connections in (16, 64):
                for script in (True, False):
                    for server in servers:
                        point = measure(wrk, server, connections, script, arguments.seconds)
                        rows.setdefault((connections, server.name, script), []).append(point)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    print("| conns | server | Lua script | req/s (rounds) | p99 ms | wrk CPU µs/req "
          "| server CPU µs/req | errors |")  # fmt: skip
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    for (connections, name, script), runs in rows.items():
        medians = (statistics.median(figure) for figure in zip(*runs, strict=True))
        rps, p99, wrk_micros, server_micros, _ = medians
        each = " / ".join(f"{run[0]:.0f}" for run in runs)
        errors = sum(run[4] for run in runs)
        print(f"| {connections} | {name} | {'yes' if script else 'no'} | {rps:.0f} ({each}) "
              f"| {p99:.1f} | {wrk_micros:.0f} | {server_micros:.0f} | {errors} |")  # fmt: skip


if __name__ == "__main__":
    main()
