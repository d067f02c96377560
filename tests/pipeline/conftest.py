"""Fixtures for the pipeline tests: a real registry with htpasswd auth, cosign keys, one release.

Everything runs on 127.0.0.1 with ports from the pipeline range (17000-17999) and is removed
again at the end, because the Docker engine is shared with the other test areas. The release is
built for both platforms once per session (arm64 under QEMU) and shared by the tests that read it.
"""

import json
import os
import random
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.host_helpers import docker, free_port, wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]
# Variables a CI or the developer's shell may have set that would change what publish.sh and
# verify.sh do; each test sets the ones it means.
PIPELINE_INPUTS = (
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "CIRCLE_BRANCH",
    "CIRCLE_PR_REPONAME",
    "COSIGN_CERTIFICATE_IDENTITY",
    "COSIGN_CERTIFICATE_IDENTITY_REGEXP",
    "COSIGN_CERTIFICATE_OIDC_ISSUER",
    "COSIGN_KEY",
    "COSIGN_PASSWORD",
    "COSIGN_PUBLIC_KEY",
    "DEFAULT_BRANCH",
    "DOCKER_HUB_EMAIL",
    "DOCKER_HUB_PWD",
    "DOCKER_HUB_USER_ID",
    "GITHUB_REF_NAME",
    "GIT_SHA",
    "IMAGE",
    "PLATFORMS",
    "PUSH_LATEST",
    "REGISTRY",
    "RUNTIME_IMAGE",
    "SIGSTORE_ID_TOKEN",
    "SOURCE_URL",
    "TRANSPARENCY_LOG",
)
# What the build needs on this machine (a stand-in base image, the proxy's CA), taken from the
# environment or, as the Makefile's targets do, from .env.
BUILD_INPUTS = ("PYTHON_IMAGE", "EXTRA_CA_CERTS")
# One registry account per test area, so each sees only its own repository's tags.
ACCOUNTS = (
    "release", "trace", "wrong", "refused",
    "unsigned", "otherkey", "oneplatform", "noprovenance", "badsbom", "dotenv",
)  # fmt: skip
MANIFEST_TYPES = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


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

    def repository(self, user: str) -> str:
        """Where publish.sh pushes for USER."""
        return f"{self.host}/{user}/dockerapp"

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
        """Tags of USER/dockerapp, without cosign's signature and attestation tags; [] if none."""
        response = requests.get(
            f"http://{self.host}/v2/{user}/dockerapp/tags/list",
            auth=(user, self.passwords[user]),
            timeout=10,
        )
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(tag for tag in response.json()["tags"] or [] if not tag.startswith("sha256-"))

    def manifest(self, user: str, reference: str) -> tuple:
        """(digest, JSON) of the manifest or index the registry serves for USER/dockerapp:REF."""
        response = requests.get(
            f"http://{self.host}/v2/{user}/dockerapp/manifests/{reference}",
            auth=(user, self.passwords[user]),
            headers={"Accept": MANIFEST_TYPES},
            timeout=10,
        )
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"], response.json()

    def blob(self, user: str, digest: str) -> bytes:
        """A blob of USER/dockerapp."""
        response = requests.get(
            f"http://{self.host}/v2/{user}/dockerapp/blobs/{digest}",
            auth=(user, self.passwords[user]),
            timeout=10,
        )
        response.raise_for_status()
        return response.content


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

    def answers_401() -> bool:
        assert process.poll() is None, "docker-registry exited; see registry.log in the tmp dir"
        return requests.get(f"http://{host}/v2/", timeout=1).status_code == 401

    wait_until(
        answers_401,
        30,
        f"the registry on {host}",
        interval=0.1,
        retry_on=(requests.ConnectionError,),
    )


def remove_images_of(host: str) -> None:
    """Remove every local name that points into the test registry (builds and pulls leave them).

    `docker image ls` shows one name per image, so the names come from `docker image inspect`:
    a copied index has the same digest, hence the same image, in several repositories.
    """
    ids = set(docker("image", "ls", "--quiet", "--no-trunc", check=False).stdout.split())
    if not ids:
        return
    images = json.loads(docker("image", "inspect", *ids, check=False).stdout or "[]")
    names = {
        name
        for image in images
        for name in (image.get("RepoTags") or []) + (image.get("RepoDigests") or [])
        if name.startswith(host + "/")
    }
    for name in sorted(names):  # one at a time: one that fails must not keep the others
        docker("image", "rm", name, check=False)


@pytest.fixture(scope="session", autouse=True)
def cosign_on_path():
    """cosign on PATH for the scripts and the tests; .ci/install-cosign.sh fetches it if missing."""
    if shutil.which("cosign"):
        yield
        return
    install = subprocess.run(
        ["bash", ".ci/install-cosign.sh"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert install.returncode == 0, f"cosign is not installed and could not be: {install.stderr}"
    saved = os.environ["PATH"]
    os.environ["PATH"] = f"{Path(install.stdout.strip()).parent}:{saved}"
    try:
        yield
    finally:
        os.environ["PATH"] = saved


@dataclass
class KeyPair:
    """A cosign key pair, encrypted with a random password."""

    private: Path
    public: Path
    password: str

    def signing(self, *, inline: bool = False) -> dict:
        """The publish.sh variables that sign with this key: the PEM itself, or its path."""
        key = self.private.read_text() if inline else str(self.private)
        return {"COSIGN_KEY": key, "COSIGN_PASSWORD": self.password}

    def trust(self) -> dict:
        """The verify.sh variable that trusts this key."""
        return {"COSIGN_PUBLIC_KEY": self.public.read_text()}


def generate_key_pair(directory: Path) -> KeyPair:
    """`cosign generate-key-pair` into DIRECTORY."""
    password = secrets.token_urlsafe(16)
    subprocess.run(
        ["cosign", "generate-key-pair"],
        cwd=directory,
        env={**os.environ, "COSIGN_PASSWORD": password},
        capture_output=True,
        check=True,
    )
    return KeyPair(directory / "cosign.key", directory / "cosign.pub", password)


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory) -> KeyPair:
    """The project's key pair: what the releases are signed with and verify trusts."""
    return generate_key_pair(tmp_path_factory.mktemp("signing-key"))


@pytest.fixture(scope="session")
def other_key(tmp_path_factory) -> KeyPair:
    """Someone else's key pair: push rights, but not the project's key."""
    return generate_key_pair(tmp_path_factory.mktemp("other-key"))


@pytest.fixture(scope="session")
def head_sha() -> str:
    """The checked-out commit: what `make publish` publishes."""
    return git("rev-parse", "HEAD")


def git(*args: str) -> str:
    """A git command's output in the repository."""
    return subprocess.run(
        ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def dotenv(*names: str) -> dict:
    """NAMES from the environment, else from .env as the Makefile's targets read them."""
    script = '. scripts/load-dotenv.sh && for name in "$@"; do echo "$name=${!name:-}"; done'
    shown = subprocess.run(
        ["bash", "-c", script, "-", *names],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"^(\w+)=(.+)$", shown, re.MULTILINE))


def callers_builder() -> dict:
    """BUILDX_CONFIG for the builder this session uses (CI sets one up): the tests' own
    DOCKER_CONFIG has none, and the default builder of an engine without the containerd image
    store cannot build several platforms."""
    if os.environ.get("BUILDX_CONFIG"):
        return {"BUILDX_CONFIG": os.environ["BUILDX_CONFIG"]}
    state = Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "buildx"
    return {"BUILDX_CONFIG": str(state)} if state.is_dir() else {}


def clean_env(docker_config: Path) -> dict:
    """This process's environment without pipeline inputs, plus the build's, and its own config."""
    # MAKEFLAGS too: an outer `make VAR=...` would override the test's variables in `make publish`.
    dropped = {*PIPELINE_INPUTS, *BUILD_INPUTS, "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    return {
        **env,
        **dotenv(*BUILD_INPUTS),
        **callers_builder(),
        "DOCKER_CONFIG": str(docker_config),
    }


def run(command: list, env: dict) -> subprocess.CompletedProcess:
    """Run COMMAND in the repository, stdout and stderr merged, as a CI log shows them."""
    return subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,  # a first build of both platforms, arm64 under QEMU, on a slow machine
    )


@pytest.fixture(scope="session")
def publish():
    """Run the publish step as CI does (`make publish`) or the script itself (optionally traced)."""

    def publish(
        extra_env: dict, docker_config: Path, *, trace=False, via_make=False
    ) -> subprocess.CompletedProcess:
        if via_make:
            command = ["make", "--no-print-directory", "publish"]
        else:
            command = ["bash", *(["-x"] if trace else []), "scripts/publish.sh"]
        return run(command, {**clean_env(docker_config), **extra_env})

    return publish


@pytest.fixture(scope="session")
def verify():
    """Run `make verify IMAGE=...` as a deployer would, with the given trust and registry login."""

    def verify(image: str, extra_env: dict, docker_config: Path) -> subprocess.CompletedProcess:
        command = ["make", "--no-print-directory", "verify", f"IMAGE={image}"]
        return run(command, {**clean_env(docker_config), **extra_env})

    return verify


@dataclass
class Release:
    """What one `make publish` on main pushed."""

    repository: str
    digest: str
    sha: str
    output: str
    docker_config: Path  # logged in to the registry, for pulls and `make verify`

    @property
    def image(self) -> str:
        """The release by digest: what a deploy names."""
        return f"{self.repository}@{self.digest}"


PRINTED_DIGEST = re.compile(r"^publish: digest (sha256:[0-9a-f]{64})$", re.MULTILINE)


@pytest.fixture(scope="session")
def release(registry, signing_key, head_sha, publish, tmp_path_factory) -> Release:
    """`make publish` of HEAD for linux/amd64 and linux/arm64, as CI runs it on main."""
    docker_config = tmp_path_factory.mktemp("release-docker-config")
    result = publish(
        {
            **registry.credentials("release"),
            **signing_key.signing(inline=True),  # as a CI secret holds it
            "CIRCLE_BRANCH": "main",
        },
        docker_config,
        via_make=True,
    )
    assert result.returncode == 0, result.stdout[-5000:]
    printed = PRINTED_DIGEST.findall(result.stdout)
    assert len(printed) == 1, result.stdout[-3000:]
    registry.login("release", docker_config)
    return Release(
        registry.repository("release"), printed[0], head_sha, result.stdout, docker_config
    )


@pytest.fixture(scope="session")
def docker_cli():
    """The docker CLI runner, for tests that inspect, pull or run images."""
    return docker


@pytest.fixture
def pipeline_port() -> int:
    """A free host port in the pipeline range, for a container the test runs."""
    return free_pipeline_port()
