"""Shared helpers for the host-side container tests.

They drive the docker CLI (and `docker compose`) with subprocess, use their own image tags,
Compose project names and ports (16000-16999, on 127.0.0.1), and remove what they start.
"""

import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.host_helpers import docker
from tests.image_build import build_command

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "dockerapp-containers"
# Passed as build args so the tests can check labels and /healthz against them.
BUILD_ARGS = {
    "CREATED": "2026-01-02T03:04:05Z",
    "GIT_REVISION": "0123456789abcdef0123456789abcdef01234567",
    "SOURCE_URL": "https://example.invalid/dockerapp",
    "VERSION": "9.8.7-containers",
}
# The files the Dockerfile copies (the .dockerignore allow-list), for builds from a scratch copy.
CONTEXT_FILES = [
    ".dockerignore",
    "Dockerfile",
    "app",
    "gunicorn.conf.py",
    "pyproject.toml",
    "requirements-build.txt",
    "requirements-dev.txt",
    "requirements.txt",
    "test.py",
    "tests/app",
]


def base_images() -> dict[str, str]:
    """PYTHON_IMAGE / REDIS_IMAGE from the environment, else from .env (as Compose reads them)."""
    found = {}
    env_file = ROOT / ".env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and name.strip() in ("PYTHON_IMAGE", "REDIS_IMAGE"):
                found[name.strip()] = value.strip().strip("'\"")
    for name in ("PYTHON_IMAGE", "REDIS_IMAGE"):
        if os.environ.get(name):
            found[name] = os.environ[name]
    return found


def run(*args: str, check: bool = True, env: dict | None = None, timeout: float = 600):
    """Run a command in the repository; return the CompletedProcess. On failure, show its output."""
    environment = {**os.environ, **(env or {})}
    result = subprocess.run(
        args, capture_output=True, text=True, env=environment, timeout=timeout, cwd=ROOT
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} -> {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
    return result


def compose_default_redis_image() -> str:
    """The official Redis image that common.yml pins (`${REDIS_IMAGE:-...}`)."""
    text = (ROOT / "common.yml").read_text()
    return text.split("${REDIS_IMAGE:-", 1)[1].split("}", 1)[0]


def dockerfile_default(name: str) -> str:
    """The default of `ARG name=...` in the Dockerfile: the official image the project pins."""
    text = (ROOT / "Dockerfile").read_text()
    return next(
        line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"ARG {name}=")
    )


def build(
    tag: str,
    *,
    target: str | None = None,
    context: Path = ROOT,
    progress: bool = False,
    platform: str | None = None,
):
    """Build the Dockerfile with BuildKit; with `progress`, keep its plain step-by-step log."""
    build_args = {**BUILD_ARGS}
    if "PYTHON_IMAGE" in base_images():
        build_args["PYTHON_IMAGE"] = base_images()["PYTHON_IMAGE"]
    command = build_command(tag, context, target=target, platform=platform, **build_args)
    if progress:
        command[command.index("--quiet")] = "--progress=plain"
    return run(*command)


def inspect(name: str) -> dict:
    """`docker inspect` of one object, as a dict."""
    return json.loads(docker("inspect", name).stdout)[0]


def image_id(tag: str) -> str:
    """The image's ID (the digest of its config)."""
    return docker("image", "inspect", "-f", "{{.Id}}", tag).stdout.strip()


def http_status(url: str) -> int | None:
    """The HTTP status of GET url, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def http_body(url: str) -> str | None:
    """The text of GET url when it answers 2xx, else None."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


GET_SCRIPT = """
import sys, urllib.error, urllib.request
try:
    response = urllib.request.urlopen("http://127.0.0.1:5000" + sys.argv[1], timeout=5)
except urllib.error.HTTPError as error:
    response = error
print(response.status)
print(response.read().decode())
"""


def get_inside(container: str, path: str) -> tuple[int, str]:
    """GET path from inside the container (for networks the host cannot reach): status, body."""
    output = docker("exec", container, "python", "-c", GET_SCRIPT, path).stdout
    status, _, body = output.partition("\n")
    return int(status), body


def health(container: str) -> str:
    """The container's health status: starting, healthy or unhealthy."""
    return docker("inspect", "-f", "{{.State.Health.Status}}", container).stdout.strip()


def remove_containers(*names: str):
    """Remove containers (and their anonymous volumes), running or not."""
    docker("rm", "--force", "--volumes", *names, check=False)


class Compose:
    """`docker compose` for one project, with the environment the tests choose."""

    def __init__(self, project: str, files: list[str], env: dict[str, str]):
        self.project, self.files, self.env = project, files, {**base_images(), **env}

    def __call__(self, *args: str, check: bool = True, timeout: float = 600):
        files = [arg for path in self.files for arg in ("-f", path)]
        return docker(
            "compose", "-p", self.project, *files, *args, check=check, env=self.env, timeout=timeout
        )

    def container(self, service: str) -> str:
        return self("ps", "--all", "--quiet", service).stdout.strip()

    def down(self):
        self("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)


@pytest.fixture(scope="session")
def runtime_image() -> str:
    """The production image (runtime stage)."""
    tag = f"{PREFIX}:runtime"
    build(tag, target="runtime")
    return tag


@pytest.fixture(scope="session")
def runtime_image_arm64() -> str:
    """The production image for arm64, built here as `make publish` builds it; runs under QEMU."""
    tag = f"{PREFIX}:runtime-arm64"
    build(tag, target="runtime", platform="linux/arm64")
    return tag


@pytest.fixture(scope="session")
def redis_image() -> str:
    return base_images().get("REDIS_IMAGE", compose_default_redis_image())


@pytest.fixture
def scratch_context(tmp_path: Path) -> Path:
    """A copy of the build context that a test may modify."""
    for name in CONTEXT_FILES:
        source, target = ROOT / name, tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return tmp_path


@pytest.fixture(scope="session")
def python_image() -> str:
    return base_images().get("PYTHON_IMAGE", dockerfile_default("PYTHON_IMAGE"))
