"""Container benchmark: dockerapp as users run it, and three references, in one run.

Run by `make bench`. dockerapp runs the two ways users run it: the development stack
(docker-compose.yml, `docker compose up`) and prod.yml (the runtime image, the app limited to
one CPU). The references run from the same runtime image, on a network of their own next to a
Redis container of the stacks' Redis image:
- the original: the original course app's serving model, Flask's development server one request
  at a time, doing the original page's work (bench/original.py);
- the ceiling: a bare Flask "hello world" (bench/hello.py) under gunicorn.conf.py;
- the floor: bare Flask doing only the contract's work (bench/floor.py) under gunicorn.conf.py.
The ceiling and the floor run twice: as in the development stack, and with the CPU and memory
limits and the worker count of prod.yml's app container, so each stack is compared with
references under its own server settings.

wrk runs in a container on each server's network (no published port, docker-proxy or host
TIME_WAIT in the way) at 1, 16 and 64 keep-alive connections; at each point every server is
measured back to back, so a neighbour's load falls on all of them alike. For each point:
req/s, p50, p99, errors, the CPU the server's container and its Redis used per request (their
cgroups), the CPU of the engine (dockerd, containerd and the shims, which carry every log line)
and how busy the whole machine was, all sampled inside the point. Then dockerapp's figures as
ratios to the references, and issue 11's goals (bench/container_report.py). Asserts nothing.
BENCH_DURATION (default 10s) sets the length of each point; BENCH_ROUNDS (default 1) repeats
the whole sequence, and each point then counts the round with its median req/s.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import container_report
import cpu_usage
import wrk_output

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "dockerapp-bench"
IMAGE = f"{PROJECT}/dockerapp:latest"  # prod.yml runs ${DOCKER_HUB_USER_ID}/dockerapp:${TAG}
DEV_IMAGE = f"{PROJECT}/dockerapp:dev"
WRK_IMAGE = f"{PROJECT}/wrk:latest"
CONNECTIONS = (1, 16, 64)
PATHS = {"GET /": "/", "GET key": "/api/v1/keys/bench"}
PAGE_ONLY = ("original", "ceiling", "ceiling, prod limits")  # measured on GET / alone


def docker(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """Run the docker CLI in the repository; its stdout, or exit with its stderr."""
    result = subprocess.run(
        ["docker", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:3])} ... failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def remove(*args: str, env: dict[str, str] | None = None) -> None:
    """A cleanup command: if it fails, say so and go on with the other cleanups."""
    result = subprocess.run(["docker", *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=120, env={**os.environ, **(env or {})})  # fmt: skip
    if result.returncode != 0:
        print(f"cleanup: docker {' '.join(args[:3])} ... failed: {result.stderr.strip()[-500:]}")


class Server:
    """One server under load: where wrk reaches it, and the cgroups that count its CPU."""

    def __init__(self, name: str, network: str, host: str, container: str, redis: str):
        self.name, self.network, self.url = name, network, f"http://{host}:5000"
        self.container, self.redis = container, redis
        self.cpu_files = [cgroup_cpu_file(identifier) for identifier in (container, redis)]

    def call(self, method: str, path: str, body: str = "") -> None:
        """One request from inside the server's container (Python is there; no port needed)."""
        script = (
            "import sys, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:5000' + "
            "sys.argv[2], sys.argv[3].encode() or None, {'Content-Type': 'application/json'}, "
            "method=sys.argv[1]), timeout=2).close()"
        )
        docker("exec", self.container, "python", "-c", script, method, path, body, timeout=30)

    def wait_until_up(self, seconds: float = 60) -> None:
        """Poll GET / until it answers (bounded)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                return self.call("GET", "/")
            except SystemExit:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)


def cgroup_cpu_file(container: str) -> Path:
    """The cgroup file that counts the CPU time of a running container."""
    pid = docker("inspect", "--format", "{{.State.Pid}}", container)
    return cpu_usage.cgroup_cpu_file(int(pid))


def free_ports(count: int, start: int) -> list[int]:
    """`count` ports free on 127.0.0.1, from `start` up (the stacks publish there)."""
    ports = []
    for port in range(start, start + 100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                ports.append(port)
        if len(ports) == count:
            return ports
    raise SystemExit(f"no {count} free ports from {start}")


def build_images() -> None:
    """The runtime image (prod.yml's and the references') and the wrk image, from this tree."""
    base = ["--build-arg", "PYTHON_IMAGE"] if os.environ.get("PYTHON_IMAGE") else []
    bundle = os.environ.get("EXTRA_CA_CERTS")  # pip behind a TLS-intercepting proxy
    secret = ["--secret", f"id=extra_ca,src={bundle}"] if bundle else []
    docker("build", "--quiet", *base, *secret, "--target", "runtime", "--tag", IMAGE, ".")
    docker("build", "--quiet", *base, "--file", "bench/wrk.Dockerfile", "--tag", WRK_IMAGE, "bench")


def compose_stack(stack: ExitStack, name: str, project: str, files: list[str],
                  env: dict[str, str], network: str, *up_options: str) -> Server:  # fmt: skip
    """Start a Compose project, wait until healthy, and return its app; `down -v` at the end."""
    command = ["compose", "--project-name", project, *(f"--file={file}" for file in files)]
    stack.callback(remove, *command, "down", "--volumes", "--remove-orphans", "--timeout", "10",
                   env=env)  # fmt: skip
    docker(*command, "up", "--detach", "--wait", "--wait-timeout", "180", *up_options, env=env)
    app, redis = (docker(*command, "ps", "--quiet", service, env=env)
                  for service in ("dockerapp", "redis"))  # fmt: skip
    return Server(name, f"{project}_{network}", "dockerapp", app, redis)


def start_stacks(stack: ExitStack, workdir: Path) -> list[Server]:
    """docker-compose.yml and prod.yml, each under its own project name and 127.0.0.1 port."""
    dev_port, prod_port = free_ports(2, start=16600)
    dev = compose_stack(
        stack, "dev stack", f"{PROJECT}-dev", ["docker-compose.yml"],
        {"DOCKERAPP_DEV_IMAGE": DEV_IMAGE, "DOCKERAPP_PORT": str(dev_port)}, "default", "--build",
    )  # fmt: skip
    # Throwaway secrets through an override file, so ./secrets (maybe real ones) stays untouched.
    override = workdir / "secrets.yml"
    lines = ["secrets:"]
    for name in ("redis_password", "secret_key"):
        (workdir / name).write_text(secrets.token_urlsafe(32))
        (workdir / name).chmod(0o644)  # read by the containers' non-root users
        lines.append(f"  {name}: {{file: {workdir / name}}}")
    override.write_text("\n".join(lines) + "\n")
    user, tag = re.fullmatch(r"(.+)/dockerapp:(.+)", IMAGE).groups()
    prod = compose_stack(
        stack, "prod.yml", f"{PROJECT}-prod", ["prod.yml", str(override)],
        {"DOCKER_HUB_USER_ID": user, "TAG": tag, "DOCKERAPP_ADDRESS": "127.0.0.1",
         "DOCKERAPP_PORT": str(prod_port)}, "front",
    )  # fmt: skip
    return [dev, prod]


def limits_of(container: str) -> tuple[str, ...]:
    """`docker run` options for the CPU and memory limits and the worker count of a container."""
    template = "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{json .Config.Env}}"
    nano_cpus, memory, env = docker("inspect", "--format", template, container).split(" ", 2)
    options = ["--cpus", f"{int(nano_cpus) / 1e9:g}"] if int(nano_cpus) else []
    options += ["--memory", memory] if int(memory) else []
    workers = [item for item in json.loads(env) if item.startswith("WEB_CONCURRENCY=")]
    return (*options, *(option for item in workers for option in ("--env", item)))


def start_references(stack: ExitStack, redis_image: str, prod_limits: tuple) -> list[Server]:
    """The original, the ceiling and the floor (the last two also with prod.yml's limits)."""
    network = f"{PROJECT}-references"
    docker("network", "create", network)
    stack.callback(remove, "network", "rm", network)

    def container(alias: str, image: str, *command: str, options: tuple = ()) -> str:
        # No healthcheck: the stacks' probes are Compose's, and the original has no /healthz.
        identifier = docker(
            "run", "--detach", "--network", network, "--network-alias", alias, "--no-healthcheck",
            "--volume", f"{ROOT / 'bench'}:/app/bench:ro", *options, image, *command,
        )  # fmt: skip
        stack.callback(remove, "rm", "--force", "--volumes", identifier)
        return identifier

    # Redis as common.yml runs it.
    redis = container("redis", redis_image, "redis-server", "--appendonly", "yes",
                      "--appendfsync", "everysec")  # fmt: skip
    original = container("original", IMAGE, "python", "bench/original.py")
    servers = [Server("original", network, "original", original, redis)]
    gunicorn = ("gunicorn", "--config", "gunicorn.conf.py")
    for name, module in (("ceiling", "bench.hello:app"), ("floor", "bench.floor:app")):
        uncapped = container(name, IMAGE, *gunicorn, module)
        capped = container(f"{name}-prod", IMAGE, *gunicorn, module, options=prod_limits)
        servers.append(Server(name, network, name, uncapped, redis))
        servers.append(Server(f"{name}, prod limits", network, f"{name}-prod", capped, redis))
    return servers


class Wrk:
    """wrk in one long-lived container per network; each load point is a `docker exec`."""

    def __init__(self, stack: ExitStack):
        self.stack, self.containers = stack, {}

    def container(self, network: str) -> str:
        if network not in self.containers:
            identifier = docker("run", "--detach", "--network", network, "--entrypoint", "sleep",
                                WRK_IMAGE, "infinity")  # fmt: skip
            self.stack.callback(remove, "rm", "--force", identifier)
            self.containers[network] = identifier
        return self.containers[network]

    def load(self, server: Server, path: str, connections: int, seconds: float) -> dict:
        """One load point, with the CPU figures sampled inside it."""
        wrk = [f"-t{min(connections, 2)}", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
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


def points(servers: list[Server]) -> list[tuple[int, str, Server]]:
    """Every point in order: by connections, then request, every server back to back."""
    order = []
    for connections in CONNECTIONS:
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
    python = docker("exec", servers[0].container, "python", "-c",
                    "import platform; print(platform.python_version())")  # fmt: skip
    print(f"{duration:g} s per point, {rounds} round(s); wrk in a container on each network")
    print(f"{os.cpu_count()} CPUs ({model}), kernel {os.uname().release}, Docker Engine {engine}, "
          f"Python {python} in the images")  # fmt: skip
    print(f"load average before: {container_report.load_average()}")
    container_report.print_header()


def seconds(duration: str) -> float:
    """BENCH_DURATION as wrk takes it (10s, 1m, or plain seconds), in seconds."""
    number, unit = re.fullmatch(r"([\d.]+)\s*(s|m)?", duration.strip()).groups()
    return float(number) * (60 if unit == "m" else 1)


def main() -> None:
    """Build, start everything, measure every point, print the tables; remove it all."""
    started, duration = time.monotonic(), seconds(os.environ.get("BENCH_DURATION", "10s"))
    rounds = int(os.environ.get("BENCH_ROUNDS", "1"))
    build_images()
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        stack.callback(remove, "image", "rm", "--force", IMAGE, DEV_IMAGE, WRK_IMAGE)
        stacks = start_stacks(stack, Path(folder))
        redis_image = docker("inspect", "--format", "{{.Config.Image}}", stacks[0].redis)
        servers = start_references(stack, redis_image, limits_of(stacks[1].container)) + stacks
        wrk = Wrk(stack)
        for server in servers:
            server.wait_until_up()
            if server.name != "original":  # the key GET key reads, through each server's API
                server.call("PUT", PATHS["GET key"], '{"value": "benchmark value"}')
            wrk.load(server, "/", 16, 2)  # warm-up: Redis connections, templates, caches
        print_setting(duration, rounds, servers)
        measured = {}
        for round_number in range(1, rounds + 1):
            for connections, request, server in points(servers):
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
    container_report.print_comparison(results, CONNECTIONS)
    container_report.print_goals(results)
    print(f"\ntotal time: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
