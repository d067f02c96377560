"""Container benchmark: dockerapp as users run it, and three references, in one run.

Run by `make bench`. dockerapp runs the two ways users run it: the development stack
(docker-compose.yml, `docker compose up`) and prod.yml (the runtime image, hardened, with CPU
limits, and its credentials on: the API's points send a bearer token, the page's the cookie of
a real login). The references run on a network of their own next to a Redis container of the
stacks' Redis image (bench/servers.py starts them all):
- the original: the original course app itself, on its own stack (Flask 0.11.1, Werkzeug
  0.16.1's development server, redis-py 2.10.5, Python 3.11; bench/original/);
- the ceiling: a bare Flask "hello world" (bench/hello.py) under gunicorn.conf.py;
- the floor: bare Flask doing only the contract's work (bench/floor.py) under gunicorn.conf.py.
The ceiling and the floor (from the runtime image) run twice: as in the development stack, and
with the CPU and memory limits and the worker count of prod.yml's app container, so each stack
is compared with references under its own server settings. With those limits, dockerapp's
runtime image runs there too, with and without its access line: what that line costs, in the
app and in the engine, set against the floor, which writes none.

wrk runs in a container on each server's network (no published port, docker-proxy or host
TIME_WAIT in the way) at 1, 16 and 64 keep-alive connections (BENCH_CONNECTIONS); at each
point every server is measured back to back, so a neighbour's load falls on all of them alike.
For each point: req/s, p50, p99, errors (socket errors and every answer outside 2xx), the CPU
the server's container and its Redis used per request (their cgroups), the CPU of the engine
(dockerd, containerd and the shims, which carry every log line), how busy the whole machine was
and what the hypervisor took, all sampled inside the point. Then dockerapp's figures as ratios
to the references, and issue 22's goals (bench/container_report.py). Asserts nothing.
BENCH_DURATION (default 10s) sets the length of each point; BENCH_ROUNDS (default 1) repeats
the whole sequence: the tables show each point's round with the median req/s, and a goal is met
only if every round meets it. BENCH_CONNECTIONS (default 1,16,64) picks the connection counts.
"""

import os
import re
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import container_report
import cpu_usage
import wrk_output
from servers import (
    DEV_IMAGE,
    IMAGE,
    ORIGINAL_IMAGE,
    WRK_IMAGE,
    Server,
    build_images,
    docker,
    limits_of,
    remove,
    start_references,
    start_stacks,
)

BENCH = Path(__file__).resolve().parent
PATHS = {"GET /": "/", "GET key": "/api/v1/keys/bench"}
PAGE_ONLY = ("original", "ceiling", "ceiling, prod limits")  # measured on GET / alone


class Wrk:
    """wrk in one long-lived container per network; each load point is a `docker exec`."""

    def __init__(self, stack: ExitStack):
        self.stack, self.containers = stack, {}

    def container(self, network: str) -> str:
        if network not in self.containers:
            identifier = docker(
                "run",
                "--detach",
                f"--network={network}",
                f"--volume={BENCH}:/bench:ro",  # not_2xx.lua
                "--entrypoint=sleep",
                WRK_IMAGE,
                "infinity",
            )
            self.stack.callback(remove, "rm", "--force", identifier)
            self.containers[network] = identifier
        return self.containers[network]

    def load(self, server: Server, path: str, connections: int, seconds: float) -> dict:
        """One load point, with the CPU figures sampled inside it."""
        wrk = [f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
        wrk += ["--script=/bench/not_2xx.lua"]
        for name, value in server.headers_for(path).items():
            wrk += ["--header", f"{name}: {value}"]
        command = ["exec", self.container(server.network), "wrk", *wrk, server.url + path]
        output = {}

        def run() -> None:
            try:
                output["text"] = docker(*command, timeout=seconds + 60)
            except SystemExit as failure:  # a thread's SystemExit would pass unseen
                output["failure"] = str(failure)

        runner = threading.Thread(target=run)
        runner.start()
        # From after wrk has surely started to before it stops: neither the docker exec nor
        # opening and closing the connections is in the CPU figures.
        margin = min(1.0, seconds / 4)
        time.sleep(margin)
        before = cpu_usage.sample(*server.cpu_files)
        time.sleep(seconds - 2 * margin)
        after = cpu_usage.sample(*server.cpu_files)
        runner.join()
        if "text" not in output:
            raise SystemExit(f"wrk against {server.name}: {output.get('failure')}")
        return {"wrk": wrk_output.parse(output["text"]), "cpu": cpu_usage.between(before, after)}


def points(servers: list[Server], connection_counts) -> list[tuple[int, str, Server]]:
    """Every point in order: by connections, then request, every server back to back."""
    order = []
    for connections in connection_counts:
        for request in PATHS:
            for server in servers:
                # The original serves only its page; the ceiling answers every path alike.
                if request == "GET /" or server.name not in PAGE_ONLY:
                    order.append((connections, request, server))
    return order


def print_setting(duration: float, rounds: int, servers: list[Server]) -> None:
    """What the figures depend on: the machine, the engine, the Python, the length of a point."""
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    model = models[0] if models else "unknown CPU"
    engine = docker("version", "--format", "{{.Server.Version}}")
    version = "import platform; print(platform.python_version())"
    python = {
        server.name: docker("exec", server.container, "python", "-c", version)
        for server in servers
        if server.name in ("original", "floor")
    }
    print(f"{duration:g} s per point, {rounds} round(s); wrk in a container on each network")
    print(
        f"{os.cpu_count()} CPUs ({model}), kernel {os.uname().release}, Docker Engine {engine}, "
        f"Python {python['floor']} in dockerapp's images, {python['original']} in the original's"
    )
    print(f"load average before: {container_report.load_average()}")
    container_report.print_header()


def seconds(duration: str) -> float:
    """BENCH_DURATION as wrk takes it (10s, 1m, or plain seconds), in seconds."""
    number, unit = re.fullmatch(r"([\d.]+)\s*(s|m)?", duration.strip()).groups()
    return float(number) * (60 if unit == "m" else 1)


def connection_counts(text: str) -> tuple[int, ...]:
    """BENCH_CONNECTIONS (e.g. "16,64") as a tuple of counts; 16 and 64 carry the goals."""
    if not re.fullmatch(r"\d+(,\d+)*", text.replace(" ", "")):
        raise SystemExit(f"BENCH_CONNECTIONS={text!r}: give counts separated by commas, e.g. 16,64")
    return tuple(int(count) for count in text.replace(" ", "").split(","))


def main() -> None:
    """Build, start everything, measure every point, print the tables; remove it all."""
    started, duration = time.monotonic(), seconds(os.environ.get("BENCH_DURATION", "10s"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    counts = connection_counts(os.environ.get("BENCH_CONNECTIONS", "1,16,64"))
    build_images()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        images = (IMAGE, DEV_IMAGE, WRK_IMAGE, ORIGINAL_IMAGE)
        stack.callback(remove, "image", "rm", "--force", *images)
        stacks = start_stacks(stack, Path(folder))
        redis_image = docker("inspect", "--format", "{{.Config.Image}}", stacks[0].redis)
        servers = start_references(stack, redis_image, limits_of(stacks[1].container)) + stacks
        wrk = Wrk(stack)
        for server in servers:
            # The key GET key reads, through each server's API; the original has none.
            server.prepare(None if server.name == "original" else PATHS["GET key"])
            wrk.load(server, "/", 16, 2)  # warm-up: Redis connections, templates, caches
        print_setting(duration, rounds, servers)
        measured = {}
        for round_number in range(1, rounds + 1):
            for connections, request, server in points(servers, counts):
                point = wrk.load(server, PATHS[request], connections, duration)
                measured.setdefault((server.name, request, connections), []).append(point)
                name = server.name if rounds == 1 else f"{server.name} (round {round_number})"
                container_report.print_point(request, connections, name, point)
                time.sleep(1)
        print(f"load average after: {container_report.load_average()}")
    # With several rounds, each point's figures are those of its round with the median req/s.
    results = {
        key: sorted(runs, key=lambda point: point["wrk"].rps)[len(runs) // 2]
        for key, runs in measured.items()
    }
    container_report.print_comparison(results, counts)
    container_report.print_access_line_cost(results, counts)
    container_report.print_goals(measured, rounds)
    print(f"\ntotal time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
