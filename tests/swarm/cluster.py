"""The test's swarm: three Docker engines in containers (docker-in-docker) and a registry.

Used by swarm_check.py. Builds the images, starts and forms the swarm, deploys stack.yml with
the test-only override, answers questions about the service, and removes everything again.
Every name starts with `dockerapp-swarm-`; the only host port is the registry's, on 127.0.0.1.
"""

import os
import secrets
import subprocess
import time
from pathlib import Path

from tests.host_helpers import WaitTimedOut, wait_until
from tests.image_build import extra_ca_secret

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PREFIX = "dockerapp-swarm"
NETWORK = f"{PREFIX}-net"
REGISTRY = f"{PREFIX}-registry"
REGISTRY_HOST_PORT = 18500
NODES = [f"{PREFIX}-node{number}" for number in (1, 2, 3)]
MANAGER = NODES[0]  # where the swarm is formed; control_node() is where commands go later
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
API_TOKEN = secrets.token_urlsafe(32)  # the api_tokens secret; the client sends it as a Bearer

# Options that let dockerd run inside a container without --privileged, which this sandbox
# refuses (it lacks CAP_SYS_RESOURCE): every capability the sandbox has (Docker 28 refuses to drop
# one the kernel does not offer, so SYS_RESOURCE is not named), no seccomp/AppArmor confinement,
# writable /proc and /sys paths, all devices, and a private cgroup namespace.
NODE_RUN_OPTIONS = [
    "--cap-add=ALL",
    "--security-opt=seccomp=unconfined",
    "--security-opt=apparmor=unconfined",
    "--security-opt=systempaths=unconfined",
    "--device-cgroup-rule=a *:* rwm",
    "--cgroupns=private",
]


def step(message: str) -> None:
    print(f"== {message}", flush=True)


def run(*command: str, check: bool = True, timeout: float = 600, stdin: str | None = None) -> str:
    """Run a command; its stdout, stripped. Stderr is shown only when it fails."""
    completed = subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and completed.returncode != 0:
        said = (completed.stderr.strip() or completed.stdout.strip())[-800:]  # exec errors: stdout
        raise RuntimeError(f"{' '.join(command[:6])}... failed ({completed.returncode}): {said}")
    return completed.stdout.strip()


# Every node is a manager, so any one that is up can run the swarm's commands; the HA checks
# move control off a node before they kill it.
_control = [MANAGER]


def control_node() -> str:
    """The node that runs the test's swarm commands and its client container now."""
    return _control[0]


def use_control_node(node: str) -> None:
    _control[0] = node


def on_manager(*command: str, env: dict[str, str] | None = None, **options) -> str:
    """A docker CLI command run on the control node (a manager)."""
    variables = [f"--env={name}={value}" for name, value in (env or {}).items()]
    return run("docker", "exec", *variables, control_node(), "docker", *command, **options)


def wait_for(condition, timeout: float, interval: float = 1.0) -> float | None:
    """Seconds until condition() is true, or None after `timeout` seconds: the check records a
    failed row and goes on, so one missed step does not hide what the later ones show."""
    started = time.monotonic()
    try:
        wait_until(condition, timeout, "a swarm condition", interval=interval)
    except WaitTimedOut:
        return None
    return round(time.monotonic() - started, 1)


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def base_image(variable: str, stand_in: str, official: str) -> str:
    """The base image: the variable if set, else the stand-in if built here, else the official."""
    return os.environ.get(variable) or (stand_in if image_exists(stand_in) else official)


# ---------------------------------------------------------------- the swarm and its images
def build_images() -> None:
    debian = base_image("DEBIAN_IMAGE", "localbase/debian:trixie-slim", "debian:trixie-slim")
    python = base_image(
        "PYTHON_IMAGE", "localbase/python:3.14-slim-trixie", "python:3.14.8-slim-trixie"
    )
    redis = base_image("REDIS_IMAGE", "localbase/redis:8-trixie", "redis:8.6.2-trixie")
    step(f"building images (Debian {debian}, Python {python}, Redis {redis})")
    build = ["docker", "build", "-q", f"--build-arg=DEBIAN_IMAGE={debian}"]
    run(*build, "-t", NODE_IMAGE, "-f", str(HERE / "node.Dockerfile"), str(HERE))
    run(*build, "-t", REGISTRY_IMAGE, "-f", str(HERE / "registry.Dockerfile"), str(HERE))
    for tag, revision in VERSIONS.items():
        run(
            "docker", "build", "-q", "--target=runtime", f"--build-arg=PYTHON_IMAGE={python}",
            *extra_ca_secret(),
            f"--build-arg=GIT_REVISION={revision}", f"--build-arg=VERSION=1.0.0+{tag}",
            "-t", f"{PUSH_TO}/dockerapp:{tag}", str(ROOT),
        )  # fmt: skip
    run(
        "docker", "build", "-q", f"--build-arg=APP_IMAGE={PUSH_TO}/dockerapp:v2",
        "-t", f"{PUSH_TO}/dockerapp:unhealthy", "-f", str(HERE / "unhealthy.Dockerfile"), str(HERE),
    )  # fmt: skip
    if not image_exists(redis):
        run("docker", "pull", "-q", redis)
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
        # The server's version, not `docker info` as a whole: the client half prints without one.
        ready = wait_for(
            lambda node=node: run(
                "docker", "exec", node, "docker", "version", "--format={{.Server.Version}}",
                check=False,
            ),
            60,
            0.5,
        )  # fmt: skip
        if ready is None:
            raise RuntimeError(f"{node}: the inner Docker engine did not start")
    on_manager("swarm", "init", "--advertise-addr=eth0")
    # Three managers: Raft keeps a quorum (2 of 3) and a leader when any one node is lost.
    token = on_manager("swarm", "join-token", "-q", "manager")
    manager_address = run("docker", "exec", MANAGER, "hostname", "-i").split()[0]
    for node in NODES[1:]:
        run(
            "docker", "exec", node, "docker", "swarm", "join", "--advertise-addr=eth0",
            f"--token={token}", f"{manager_address}:2377",
        )  # fmt: skip
    for number, node in enumerate(NODES, start=1):  # stack.yml pins Redis N to node N
        on_manager("node", "update", f"--label-add=dockerapp.node={number}", node)


def push_images() -> None:
    step("pushing the images to the test registry")
    for name in ("dockerapp:v1", "dockerapp:v2", "dockerapp:unhealthy", "redis:test"):
        run("docker", "push", "-q", f"{PUSH_TO}/{name}")


def copy_stack_files() -> None:
    """stack.yml, the override and fresh random secrets, into /stack on the manager."""
    stack_dirs = ("/stack/tests/swarm", "/stack/secrets", "/stack/k8s/base")
    run("docker", "exec", MANAGER, "mkdir", "-p", *stack_dirs)
    run("docker", "cp", str(ROOT / "stack.yml"), f"{MANAGER}:/stack/stack.yml")
    run("docker", "cp", str(HERE / "stack.test.yml"), f"{MANAGER}:/stack/tests/swarm/")
    run("docker", "cp", str(ROOT / "k8s/base/redis-ha"), f"{MANAGER}:/stack/k8s/base/")
    files = {"redis_password": secrets.token_hex(32), "secret_key": secrets.token_hex(32),
             "api_tokens": API_TOKEN, "users": users_file()}  # fmt: skip
    for name, content in files.items():
        run(
            "docker", "exec", "-i", MANAGER, "sh", "-c", f"cat > /stack/secrets/{name}",
            stdin=content,
        )  # fmt: skip


def users_file() -> str:
    """One user line (name:argon2id hash), hashed in the app image when it has argon2-cffi.

    Swarm refuses an empty secret; an image without argon2 (the app before it checked users)
    gets a comment line, which it ignores anyway.
    """
    hashed = run(
        "docker", "run", "--rm", f"{PUSH_TO}/dockerapp:v1", "python", "-c",
        "from argon2 import PasswordHasher; print(PasswordHasher().hash('swarm-test-password'))",
        check=False,
    )  # fmt: skip
    return f"swarm-test:{hashed}\n" if hashed.startswith("$argon2id$") else "# no users\n"


def deploy(tag: str) -> None:
    """`docker stack deploy` of stack.yml + the test override, with the app image `tag`."""
    variables = {
        "DOCKERAPP_IMAGE": f"{PULL_FROM}/dockerapp:{tag}",
        "REDIS_IMAGE": f"{PULL_FROM}/redis:test",
    }
    on_manager(
        "stack", "deploy", "-c", "/stack/stack.yml",
        "-c", "/stack/tests/swarm/stack.test.yml", STACK, env=variables,
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
