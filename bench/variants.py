"""A/B in containers: variants of the runtime image, measured interleaved, medians printed.

For tuning, next to `make bench`: each variant is a container of the runtime image built from
this tree (or of an image it names), on one network with one Redis, loaded by wrk from a
container on that network, round after round so that a neighbour's load falls on all alike.

    python3 bench/variants.py [--rounds 3] [--seconds 5] [--connections 16] 'NAME=ARGS' ...

ARGS are `docker run` arguments: options in --name=value form, then optionally an image and a
command (default: the runtime image and its gunicorn command). Examples:

    'cap 1.0=--cpus=1.0 --env=WEB_CONCURRENCY=2' 'cap 1.5=--cpus=1.5 --env=WEB_CONCURRENCY=2'
    'threads 2=--env="GUNICORN_CMD_ARGS=--threads 2"' 'no access lines=--env=LOG_LEVEL=WARNING'
    'floor=dockerapp-bench/dockerapp:latest gunicorn --config gunicorn.conf.py bench.floor:app'
    'original=dockerapp-bench/original:latest'   # the original course app (bench/original/)
"""

import argparse
import contextlib
import itertools
import json
import os
import shlex
import statistics
from contextlib import ExitStack

from containers import PATHS, Wrk
from servers import (
    IMAGE,
    ORIGINAL_IMAGE,
    PROJECT,
    ROOT,
    WRK_IMAGE,
    Server,
    build_images,
    docker,
    remove,
)


def start(stack: ExitStack, network: str, alias: str, args: list[str]) -> str:
    """`docker run` a variant on the network as `alias`; removed when the run ends."""
    options = list(itertools.takewhile(lambda arg: arg.startswith("-"), args))
    rest = args[len(options) :]  # an image and its command, if given
    identifier = docker(
        "run", "--detach", f"--network={network}", f"--network-alias={alias}",
        "--no-healthcheck", f"--volume={ROOT / 'bench'}:/app/bench:ro",
        *options, *(rest or [IMAGE]),
    )  # fmt: skip
    stack.callback(remove, "rm", "--force", "--volumes", identifier)
    return identifier


def main() -> None:
    """Start the variants, measure GET key and GET / in rounds, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("variants", nargs="+", metavar="NAME=ARGS")
    arguments = parser.parse_args()
    build_images()
    # The Redis image and command of the development stack (common.yml), as Compose resolves them.
    config = json.loads(docker("compose", "--file=docker-compose.yml", "config", "--format=json"))
    redis_service = config["services"]["redis"]
    with ExitStack() as stack:
        stack.callback(remove, "image", "rm", "--force", IMAGE, WRK_IMAGE, ORIGINAL_IMAGE)
        network = f"{PROJECT}-variants"
        docker("network", "create", network)
        stack.callback(remove, "network", "rm", network)
        redis_args = [redis_service["image"], *redis_service["command"]]
        redis = start(stack, network, "redis", redis_args)
        servers = []
        for number, variant in enumerate(arguments.variants):
            name, args = variant.split("=", 1)
            container = start(stack, network, f"variant{number}", shlex.split(args))
            servers.append(Server(name, network, f"variant{number}", container, redis))
        wrk = Wrk(stack)
        for server in servers:
            server.prepare(None)
            with contextlib.suppress(SystemExit):  # a variant without the API (the original)
                server.call("PUT", PATHS["GET key"], '{"value": "benchmark value"}')
            wrk.load(server, "/", arguments.connections, 2)  # warm-up
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        runs = {}
        for _ in range(arguments.rounds):
            for request, path in PATHS.items():
                for server in servers:
                    point = wrk.load(server, path, arguments.connections, arguments.seconds)
                    runs.setdefault((request, server.name), []).append(point)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(f"medians of {arguments.rounds} rounds, {arguments.connections} connections")
    print("| request | variant | req/s | p99 ms | errors | CPU µs/req server | CPU µs/req Redis "
          "| engine, % of a core | machine busy |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for (request, name), points in runs.items():
        figures = [
            (point["wrk"].rps, point["wrk"].p99, point["cpu"].server_cores / point["wrk"].rps,
             point["cpu"].redis_cores / point["wrk"].rps, point["cpu"].engine_cores,
             point["cpu"].machine_busy)
            for point in points
        ]  # fmt: skip
        medians = (statistics.median(figure) for figure in zip(*figures, strict=True))
        rps, p99, server, redis, engine, busy = medians
        errors = sum(point["wrk"].errors for point in points)
        print(f"| {request} | {name} | {rps:.0f} | {p99:.1f} | {errors} | {server * 1e6:.0f} | "
              f"{redis * 1e6:.0f} | {engine:.0%} | {busy:.0%} |")  # fmt: skip


if __name__ == "__main__":
    main()
