"""`make swarm-test`: deploy stack.yml on a 3-node swarm in docker-in-docker and check it for real.

From nothing: builds the node, registry and app images, starts three Docker engines in containers
(one manager, two workers) and a registry on a private network, pushes the images there,
deploys the stack with the test-only override, runs the checks, prints a summary table and tears
everything down, also on failure or Ctrl-C. Exit status 1 if any check fails.

Every name starts with `dockerapp-swarm-`; the only host port is the registry's, on 127.0.0.1.
Traffic goes only to containers this program starts. Base images come from DEBIAN_IMAGE,
PYTHON_IMAGE and REDIS_IMAGE (default: the local stand-ins when `make base-images` built them,
else the official images). docs/swarm.md explains the design and the figures.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PREFIX = "dockerapp-swarm"
NETWORK = f"{PREFIX}-net"
REGISTRY = f"{PREFIX}-registry"
REGISTRY_HOST_PORT = 18500
NODES = [f"{PREFIX}-node{number}" for number in (1, 2, 3)]
MANAGER = NODES[0]
NODE_IMAGE = f"{PREFIX}-node:test"
REGISTRY_IMAGE = f"{PREFIX}-registry:test"
PUSH_TO = f"127.0.0.1:{REGISTRY_HOST_PORT}"  # the registry as the host's engine sees it
PULL_FROM = f"{REGISTRY}:5000"  # ... and as the nodes see it
STACK = "dockerapp"
SERVICE = f"{STACK}_dockerapp"
APP_URL = "http://tasks.dockerapp:5000"  # Swarm's DNS name for the service's healthy tasks
VERSIONS = {"v1": "swarm-v1", "v2": "swarm-v2"}  # image tag -> GIT_REVISION baked into it
DATA_KEY, DATA_VALUE = "written-before-node-loss", "still-here"
BENCH_KEY = "bench"

# Options that let dockerd run inside a container without --privileged, which this sandbox
# refuses (it lacks CAP_SYS_RESOURCE): every other capability, no seccomp/AppArmor confinement,
# writable /proc and /sys paths, all devices, and a private cgroup namespace.
NODE_RUN_OPTIONS = [
    "--cap-add=ALL",
    "--cap-drop=SYS_RESOURCE",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--cgroupns=private",
]


@dataclass
class Check:
    name: str
    figure: str
    passed: bool


results: list[Check] = []


def record(name: str, figure: str, passed: bool) -> None:
    results.append(Check(name, figure, passed))
    print(f"  {'PASS' if passed else 'FAIL'}  {name}: {figure}", flush=True)


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(*command: str, check: bool = True, timeout: float = 600, stdin: str | None = None) -> str:
    """Run a command; its stdout, stripped. Stderr is shown only when it fails."""
    completed = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:6])}... failed: {completed.stderr.strip()[-800:]}")
    return completed.stdout.strip()


def on_manager(*command: str, env: dict[str, str] | None = None, **options) -> str:
    """A docker CLI command run on the swarm manager (a node container)."""
    variables = [f"--env={name}={value}" for name, value in (env or {}).items()]
    return run("docker", "exec", *variables, MANAGER, "docker", *command, **options)


def wait_for(condition, timeout: float, interval: float = 1.0) -> float | None:
    """Seconds until condition() is true, or None after `timeout` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return round(time.monotonic() - started, 1)
        time.sleep(interval)
    return None


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def base_image(variable: str, stand_in: str, official: str) -> str:
    """The base image: the variable if set, else the stand-in if built here, else the official."""
    return os.environ.get(variable) or (stand_in if image_exists(stand_in) else official)


# ---------------------------------------------------------------- the swarm and its images
def build_images() -> None:
    debian = base_image("DEBIAN_IMAGE", "localbase/debian:bookworm-slim", "debian:12.8-slim")
    python = base_image(
        "PYTHON_IMAGE", "localbase/python:3.11-slim-bookworm", "python:3.11.11-slim-bookworm"
    )
    redis = base_image("REDIS_IMAGE", "localbase/redis:7.0-bookworm", "redis:7.2.7-bookworm")
    step(f"building images (Debian {debian}, Python {python}, Redis {redis})")
    build = ["docker", "build", "-q", f"--build-arg=DEBIAN_IMAGE={debian}"]
    run(*build, "-t", NODE_IMAGE, "-f", str(HERE / "node.Dockerfile"), str(HERE))
    run(*build, "-t", REGISTRY_IMAGE, "-f", str(HERE / "registry.Dockerfile"), str(HERE))
    for tag, revision in VERSIONS.items():
        run(
            "docker", "build", "-q", "--target=runtime", f"--build-arg=PYTHON_IMAGE={python}",
            f"--build-arg=GIT_REVISION={revision}", f"--build-arg=VERSION=1.0.0+{tag}",
            "-t", f"{PUSH_TO}/dockerapp:{tag}", str(ROOT),
        )  # fmt: skip
    run(
        "docker", "build", "-q", f"--build-arg=APP_IMAGE={PUSH_TO}/dockerapp:v2",
        "-t", f"{PUSH_TO}/dockerapp:unhealthy", "-f", str(HERE / "unhealthy.Dockerfile"), str(HERE),
    )  # fmt: skip
    run("docker", "tag", redis, f"{PUSH_TO}/redis:test")


def start_swarm() -> None:
    step("starting the registry and 3 Docker engines, forming the swarm")
    run("docker", "network", "create", NETWORK)
    run(
        "docker", "run", "-d", f"--name={REGISTRY}", f"--network={NETWORK}",
        f"--publish=127.0.0.1:{REGISTRY_HOST_PORT}:5000", REGISTRY_IMAGE,
    )  # fmt: skip
    for node in NODES:
        run(
            "docker", "run", "-d", f"--name={node}", f"--hostname={node}", f"--network={NETWORK}",
            f"--volume={node}-data:/var/lib/docker", *NODE_RUN_OPTIONS, NODE_IMAGE,
            f"--insecure-registry={PULL_FROM}",
        )  # fmt: skip
    for node in NODES:
        ready = wait_for(
            lambda node=node: run("docker", "exec", node, "docker", "info", check=False), 60, 0.5
        )
        if ready is None:
            raise RuntimeError(f"{node}: the inner Docker engine did not start")
    on_manager("swarm", "init", "--advertise-addr=eth0")
    token = on_manager("swarm", "join-token", "-q", "worker")
    manager_address = run("docker", "exec", MANAGER, "hostname", "-i").split()[0]
    for worker in NODES[1:]:
        run(
            "docker", "exec", worker, "docker", "swarm", "join", "--advertise-addr=eth0",
            f"--token={token}", f"{manager_address}:2377",
        )  # fmt: skip


def push_images() -> None:
    step("pushing the images to the test registry")
    for name in ("dockerapp:v1", "dockerapp:v2", "dockerapp:unhealthy", "redis:test"):
        run("docker", "push", "-q", f"{PUSH_TO}/{name}")


def copy_stack_files() -> None:
    """stack.yml, the override and fresh random secrets, into /stack on the manager."""
    run("docker", "exec", MANAGER, "mkdir", "-p", "/stack/deploy/swarm", "/stack/secrets")
    run("docker", "cp", str(ROOT / "stack.yml"), f"{MANAGER}:/stack/stack.yml")
    run("docker", "cp", str(HERE / "stack.test.yml"), f"{MANAGER}:/stack/deploy/swarm/")
    for name in ("redis_password", "secret_key"):
        run(
            "docker", "exec", "-i", MANAGER, "sh", "-c", f"cat > /stack/secrets/{name}",
            stdin=secrets.token_hex(32),
        )  # fmt: skip


def deploy(tag: str) -> None:
    """`docker stack deploy` of stack.yml + the test override, with the app image `tag`."""
    variables = {
        "DOCKER_HUB_USER_ID": PULL_FROM,
        "TAG": tag,
        "REDIS_IMAGE": f"{PULL_FROM}/redis:test",
    }
    on_manager(
        "stack", "deploy", "-c", "/stack/stack.yml",
        "-c", "/stack/deploy/swarm/stack.test.yml", STACK, env=variables,
    )  # fmt: skip


def teardown() -> None:
    step("tearing down")
    names = [*NODES, REGISTRY]
    subprocess.run(["docker", "rm", "-f", "-v", *names], capture_output=True)
    subprocess.run(
        ["docker", "volume", "rm", *[f"{node}-data" for node in NODES]], capture_output=True
    )
    subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True)
    tags = ["dockerapp:v1", "dockerapp:v2", "dockerapp:unhealthy", "redis:test"]
    subprocess.run(["docker", "rmi", *[f"{PUSH_TO}/{tag}" for tag in tags]], capture_output=True)


# ---------------------------------------------------------------- looking at the service
def running_tasks() -> list[dict]:
    """The service's tasks that run now (node, image, desired state), also those being removed.

    Tasks on a node that is down still show their last state, "Running": callers skip that node.
    """
    lines = on_manager(
        "service",
        "ps",
        SERVICE,
        "--format={{.Node}}|{{.Image}}|{{.DesiredState}}|{{.CurrentState}}",  # Node may be empty
    ).splitlines()
    keys = ("node", "image", "desired", "state")
    tasks = [dict(zip(keys, line.split("|"), strict=True)) for line in lines]
    return [task for task in tasks if task["state"].startswith("Running")]


def healthy_containers() -> int:
    """dockerapp containers whose healthcheck passes, over all nodes that are up."""
    count = 0
    for node in NODES:
        output = run(
            "docker", "exec", node, "docker", "ps", "-q", "--filter=health=healthy",
            f"--filter=label=com.docker.swarm.service.name={SERVICE}", check=False,
        )  # fmt: skip
        count += len(output.split())
    return count


def update_state() -> str:
    return on_manager(
        "service", "inspect", SERVICE, "--format={{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}"
    )


def converged(replicas: int, tag: str, lost_node: str | None = None) -> bool:
    """Exactly `replicas` tasks run, all of image `tag`, none is being stopped or removed."""
    tasks = [task for task in running_tasks() if task["node"] != lost_node]
    return (
        len(tasks) == replicas
        and all(task["desired"] == "Running" for task in tasks)
        and all(task["image"].split("@")[0].endswith(f"/dockerapp:{tag}") for task in tasks)
    )


def client_command(*arguments: str) -> list[str]:
    """load_client.py in a container on the manager, attached to the stack's front network."""
    script = (HERE / "load_client.py").read_text()
    return [
        "docker", "exec", "-i", MANAGER, "docker", "run", "--rm", "-i",
        f"--network={STACK}_front", f"{PULL_FROM}/dockerapp:v1", "python", "-c", script,
        *arguments,
    ]  # fmt: skip


def client(*arguments: str) -> dict:
    return json.loads(run(*client_command(*arguments)).splitlines()[-1])


class SteadyLoad:
    """A bounded, paced load that runs while the test changes the service (a context manager)."""

    def __init__(self, rate: int = 40, max_seconds: int = 240) -> None:
        urls = [f"{APP_URL}/healthz", f"{APP_URL}/api/v1/keys/{BENCH_KEY}"]
        arguments = ["steady", *urls, f"--rate={rate}", f"--max-seconds={max_seconds}"]
        self.command = client_command(*arguments)
        self.summary: dict = {}

    def __enter__(self) -> "SteadyLoad":
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for line in self.process.stderr:  # image pull messages may come first
            if line.strip() == "started":
                return self
        raise RuntimeError(f"the load client did not start: {self.process.wait()}")

    def __exit__(self, *exc_info) -> None:
        output, _ = self.process.communicate("stop\n", timeout=60)
        self.summary = json.loads(output.splitlines()[-1])


# ---------------------------------------------------------------- the checks
def describe_load(summary: dict) -> str:
    """The steady load's figures: failures (and of which kind), requests, slowest answer."""
    kinds = ", ".join(f"{count} x {kind}" for kind, count in summary["failure_kinds"].items())
    for seconds, error in summary["first_failures"]:  # the details, for the log only
        print(f"    failed at {seconds} s: {error[:300]}", flush=True)
    return (
        f"{summary['failures']} failed{f' ({kinds})' if kinds else ''} of {summary['requests']} "
        f"in {summary['seconds']} s; slowest answer {summary['slowest_seconds']} s"
    )


def check_deploy() -> None:
    step("deploy v1 (3 replicas) and wait for every replica to be healthy")
    deploy("v1")
    seconds = wait_for(lambda: converged(3, "v1") and healthy_containers() == 3, 180)
    nodes = sorted({task["node"][-1] for task in running_tasks()})
    record(
        "deploy: 3 replicas healthy",
        f"in {seconds} s on nodes {','.join(nodes)}" if seconds else "not within 180 s",
        seconds is not None,
    )
    ready = wait_for(lambda: client("get", f"{APP_URL}/readyz")["status"] == 200, 60)
    record("app reaches Redis (/readyz 200)", f"after {ready} s", ready is not None)
    client("put", f"{APP_URL}/api/v1/keys/{BENCH_KEY}", "benchmark value")
    spread = client("spread", f"{APP_URL}/healthz", "30")
    record(
        "pages served by different replicas",
        f"{len(spread['hostnames'])} hostnames in 30 requests, {spread['failures']} failed",
        len(spread["hostnames"]) == 3 and spread["failures"] == 0,
    )


def benchmark() -> None:
    step("benchmark: requests/s through the service with 1, then 3 replicas")
    url = f"{APP_URL}/api/v1/keys/{BENCH_KEY}"
    for replicas in (1, 3):
        on_manager("service", "scale", "--detach=true", f"{SERVICE}={replicas}")
        settled = wait_for(
            lambda replicas=replicas: (
                converged(replicas, "v1") and healthy_containers() == replicas
            ),
            120,
        )
        figures = client("bench", url, "--connections=16", "--seconds=8")
        record(
            f"benchmark: {replicas} replica{'s' if replicas > 1 else ''}, GET /api/v1/keys/{{key}}",
            f"{figures['rps']} req/s, {figures['failures']} errors {figures['failure_kinds'] or ''}"
            "(16 keep-alive connections, 8 s)",
            settled is not None,  # the figure is not a goal; the scaling must work, though
        )


def check_rolling_update() -> None:
    step("rolling update v1 -> v2 under steady load")
    with SteadyLoad() as load:
        started = time.monotonic()
        deploy("v2")
        done = wait_for(lambda: update_state() == "completed", 300)
        seconds = round(time.monotonic() - started, 1)
    record(
        "rolling update v1->v2: zero failed requests",
        describe_load(load.summary),
        done is not None and load.summary["failures"] == 0,
    )
    spread = client("spread", f"{APP_URL}/healthz", "30")
    on_v2 = converged(3, "v2") and set(spread["revisions"]) == {VERSIONS["v2"]}
    record(
        "rolling update: every replica on v2",
        f"update {update_state() or 'unknown'} after {seconds} s; "
        f"revisions answering now {dict(spread['revisions'])}",
        on_v2,
    )


def check_rollback() -> None:
    step("update to an image whose healthcheck fails: Swarm must roll back by itself")
    with SteadyLoad() as load:
        started = time.monotonic()
        deploy("unhealthy")
        done = wait_for(lambda: update_state() in ("rollback_completed", "rollback_paused"), 300)
        seconds = round(time.monotonic() - started, 1)
    spread = client("spread", f"{APP_URL}/healthz", "30")
    back_on_v2 = converged(3, "v2") and set(spread["revisions"]) == {VERSIONS["v2"]}
    record(
        "unhealthy update rolls back",
        f"{update_state() or 'no update state'} after {seconds} s; "
        f"meanwhile {describe_load(load.summary)}",
        done is not None and update_state() == "rollback_completed" and back_on_v2,
    )


def check_node_loss() -> None:
    step("stop a worker node: its replicas move, the service keeps answering, data stays")
    written = client("put", f"{APP_URL}/api/v1/keys/{DATA_KEY}", DATA_VALUE)["status"]
    workers = [task["node"] for task in running_tasks() if task["node"] != MANAGER]
    victim = workers[-1] if workers else NODES[-1]
    with SteadyLoad() as load:
        run("docker", "stop", victim)
        moved = wait_for(
            lambda: converged(3, "v2", lost_node=victim) and healthy_containers() == 3, 180
        )
    record(
        f"node loss: replicas rescheduled off {victim[-5:]}",
        f"3 healthy on the other nodes after {moved} s" if moved else "not within 180 s",
        moved is not None,
    )
    record(
        "node loss: service keeps answering",
        f"{load.summary['seconds_without_success']} s without an answer; "
        f"{describe_load(load.summary)}",
        load.summary["seconds_without_success"] == 0,
    )
    read_back = client("get", f"{APP_URL}/api/v1/keys/{DATA_KEY}")
    value = (read_back["body"] or {}).get("value")
    record(
        "node loss: data written before is still there",
        f"PUT {written}, then GET {read_back['status']} value={value!r}",
        written in (200, 201) and value == DATA_VALUE,
    )


def print_summary(load_before: float) -> None:
    width = max((len(check.name) for check in results), default=10)
    print(f"\nSwarm test summary ({len(NODES)} nodes, docker-in-docker)")
    # All nodes share this machine's CPUs: other work on it shows up in the figures.
    print(
        f"host: {os.cpu_count()} CPUs, load average {load_before:.1f} before the test, "
        f"{os.getloadavg()[0]:.1f} at its end"
    )
    print(f"{'check'.ljust(width)}  result  figure")
    for check in results:
        print(f"{check.name.ljust(width)}  {'pass' if check.passed else 'FAIL':6}  {check.figure}")


def main() -> int:
    # SIGTERM (CI timeouts, `kill`) unwinds through `finally` like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    os.environ["DOCKER_BUILDKIT"] = "0"  # the classic builder: the one every client here has
    started, load_before = time.monotonic(), os.getloadavg()[0]
    teardown()  # leftovers of an interrupted run
    try:
        build_images()
        start_swarm()
        push_images()
        copy_stack_files()
        check_deploy()
        benchmark()
        check_rolling_update()
        check_rollback()
        check_node_loss()
    except Exception as error:  # any failure is reported as a failed check
        record("swarm test ran to the end", f"{type(error).__name__}: {error}", False)
    finally:
        teardown()
        print_summary(load_before)
    print(f"total {round(time.monotonic() - started)} s")
    return 0 if results and all(check.passed for check in results) else 1


if __name__ == "__main__":
    sys.exit(main())
