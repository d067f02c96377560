"""Fixtures for the pipeline tests: a real local registry with htpasswd auth, and the runtime image.

Everything here is started on 127.0.0.1 with ports from the pipeline range (17000-17999) and
removed again at the end, because the Docker engine is shared with the other test areas.
"""

import json
import os
import random
import secrets
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.free_port import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME_TAG = "dockerapp-pipeline:test"
# Variables a CI or the developer's shell may have set that would change what publish.sh does.
PUBLISH_INPUTS = (
    "CIRCLE_BRANCH",
    "CIRCLE_PR_REPONAME",
    "DEFAULT_BRANCH",
    "DOCKER_HUB_EMAIL",
    "DOCKER_HUB_PWD",
    "DOCKER_HUB_USER_ID",
    "GITHUB_REF_NAME",
    "GIT_SHA",
    "PUSH_LATEST",
    "REGISTRY",
    "RUNTIME_IMAGE",
    "SOURCE_URL",
)
# One registry account per test, so each test sees only its own repository's tags.
ACCOUNTS = ("publish", "trace", "branch", "config", "wrong", "mismatch")


def docker(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the docker CLI and capture its output as text."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, env=env)


def free_pipeline_port() -> int:
    """A free port in the pipeline range (17000-17999)."""
    return free_port(random.sample(range(17000, 18000), 1000))


@dataclass
class Registry:
    """A running Distribution registry and the accounts its htpasswd file knows."""

    host: str
    passwords: dict = field(default_factory=dict)

    def credentials(self, user: str) -> dict:
        """The publish.sh variables that log USER in to this registry."""
        return {
            "REGISTRY": self.host,
            "DOCKER_HUB_USER_ID": user,
            "DOCKER_HUB_PWD": self.passwords[user],
        }

    def login(self, user: str, docker_config: Path) -> None:
        """Log the docker client that uses DOCKER_CONFIG in as USER (pulls need it, too)."""
        subprocess.run(
            ["docker", "login", self.host, "-u", user, "--password-stdin"],
            input=self.passwords[user],
            env={**os.environ, "DOCKER_CONFIG": str(docker_config)},
            capture_output=True,
            text=True,
            check=True,
        )

    def tags(self, user: str) -> list:
        """Tags of USER/dockerapp; [] when the repository does not exist."""
        response = requests.get(
            f"http://{self.host}/v2/{user}/dockerapp/tags/list",
            auth=(user, self.passwords[user]),
            timeout=10,
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(response.json()["tags"] or [])

    def manifest_digest(self, user: str, tag: str) -> str:
        """The digest the registry serves for USER/dockerapp:TAG."""
        response = requests.head(
            f"http://{self.host}/v2/{user}/dockerapp/manifests/{tag}",
            auth=(user, self.passwords[user]),
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            timeout=10,
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"]


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Debian's docker-registry on 127.0.0.1 with bcrypt htpasswd auth and storage in a tmp dir."""
    workdir = tmp_path_factory.mktemp("registry")
    passwords = {user: secrets.token_urlsafe(16) for user in ACCOUNTS}
    htpasswd = workdir / "htpasswd"
    for user, password in passwords.items():
        entry = subprocess.run(
            ["htpasswd", "-Bbn", user, password], capture_output=True, text=True, check=True
        )
        with htpasswd.open("a") as out:
            out.write(entry.stdout.strip() + "\n")
    host = f"127.0.0.1:{free_pipeline_port()}"
    config = {
        "version": 0.1,
        "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(workdir / "data")}},
        "http": {"addr": host},
        "auth": {"htpasswd": {"realm": "pipeline-test", "path": str(htpasswd)}},
    }
    (workdir / "config.yml").write_text(json.dumps(config))  # JSON is valid YAML
    with (workdir / "registry.log").open("w") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(workdir / "config.yml")], stdout=log, stderr=log
        )
    try:
        wait_for_registry(host, process)
        yield Registry(host, passwords)
    finally:
        process.terminate()
        process.wait(timeout=10)
        remove_images_of(host)


def wait_for_registry(host: str, process: subprocess.Popen) -> None:
    """Return once the registry answers (401: it is up and asks for credentials)."""
    for _ in range(100):
        assert process.poll() is None, (
            "docker-registry exited; see registry.log in the pytest tmp dir"
        )
        try:
            if requests.get(f"http://{host}/v2/", timeout=1).status_code == 401:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"registry on {host} did not answer")


def remove_images_of(host: str) -> None:
    """Remove every local tag that points into the test registry."""
    listed = docker(
        "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", check=False
    ).stdout.split()
    ours = [ref for ref in listed if ref.startswith(host + "/")]
    if ours:
        docker("image", "rm", *ours, check=False)


@pytest.fixture(scope="session")
def head_sha() -> str:
    """The checked-out commit: what `make publish` publishes by default."""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def runtime_image(head_sha):
    """The runtime stage, built once per session and labelled with HEAD, as publish.sh builds it."""
    build_args = [f"GIT_REVISION={head_sha}"]
    if os.environ.get("PYTHON_IMAGE"):  # the stand-in, where the official image cannot be pulled
        build_args.append(f"PYTHON_IMAGE={os.environ['PYTHON_IMAGE']}")
    build = subprocess.run(
        ["docker", "build", "-q", "--target", "runtime", "-t", RUNTIME_TAG]
        + [option for arg in build_args for option in ("--build-arg", arg)]
        + ["."],
        cwd=REPO_ROOT,
        env={**os.environ, "DOCKER_BUILDKIT": os.environ.get("DOCKER_BUILDKIT", "0")},
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        yield RUNTIME_TAG
    finally:
        docker("image", "rm", RUNTIME_TAG, check=False)


def clean_env(docker_config: Path) -> dict:
    """This process's environment without CI variables, with a client config of the test's own."""
    # MAKEFLAGS too: an outer `make VAR=...` would override the test's variables in `make publish`.
    dropped = {*PUBLISH_INPUTS, "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    return {**env, "DOCKER_CONFIG": str(docker_config)}


@pytest.fixture(scope="session")
def publish():
    """Run the publish step as CI does (`make publish`) or the script itself, output merged."""

    def run(
        extra_env: dict, docker_config: Path, *, trace=False, via_make=False
    ) -> subprocess.CompletedProcess:
        if via_make:
            command = ["make", "--no-print-directory", "publish"]
        else:
            command = ["bash", *(["-x"] if trace else []), "scripts/publish.sh"]
        return subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**clean_env(docker_config), **extra_env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600,
        )

    return run


@pytest.fixture(scope="session")
def docker_cli():
    """The docker CLI runner, for tests that inspect, pull or run images."""
    return docker


@pytest.fixture
def pipeline_port() -> int:
    """A free host port in the pipeline range, for a container the test runs."""
    return free_pipeline_port()
