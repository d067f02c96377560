"""The production edge for real: prod.yml (Caddy in front of the app) with Pebble as its ACME CA.

One stack per session (Compose project dockerapp-edge, removed with its volumes at the end):
the runtime image built from this tree, Pebble built from Debian's package, throwaway secrets,
and Caddy's ports published on free 127.0.0.1 ports (15100-15499).
"""

import os
import secrets
import socket
import subprocess
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from tests.host_helpers import docker, free_port
from tests.image_build import build_command

from .stack import DOMAIN, HERE, REPO, EdgeStack

APP_IMAGE_USER, APP_IMAGE_TAG = "dockerapp-edge", "edge"
PEBBLE_IMAGE = "dockerapp-edge-pebble:test"
API_TOKENS = (secrets.token_urlsafe(32), secrets.token_urlsafe(32))  # two, as during a rotation
USER, PASSWORD = "edge-user", secrets.token_urlsafe(16)


def base_image(variable: str, stand_in: str, official: str) -> str:
    """The variable if set, else the stand-in if built here (`make base-images`), else official."""
    if os.environ.get(variable):
        return os.environ[variable]
    found = docker("image", "inspect", stand_in, check=False).returncode == 0
    return stand_in if found else official


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pebble_api_certificate(folder: Path) -> None:
    """A throwaway CA and, signed by it, the certificate Pebble's ACME API serves as `pebble`.

    Caddy trusts this CA through ACME_CA_ROOT, as a user would for an internal ACME server.
    """
    folder.mkdir()
    curve = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=dockerapp-edge test ACME API CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", cwd=folder)  # fmt: skip
    openssl("req", *curve, "-keyout", "key.pem", "-out", "api.csr", "-subj", "/CN=pebble",
            cwd=folder)  # fmt: skip
    (folder / "san.ext").write_text("subjectAltName=DNS:pebble,DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "api.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "cert.pem",
            cwd=folder)  # fmt: skip
    for path in folder.iterdir():
        path.chmod(0o644)  # read inside the Pebble container


def write_secrets(folder: Path) -> dict[str, str]:
    """The files prod.yml mounts as secrets, readable by the containers' non-root users."""
    folder.mkdir()
    values = {
        "redis_password": secrets.token_urlsafe(32) + "\n",
        "secret_key": secrets.token_urlsafe(32) + "\n",
        "api_tokens": "# tests/edge\n" + "".join(token + "\n" for token in API_TOKENS),
        # What `make user` writes: name:<argon2id PHC hash>, by argon2-cffi (requirements.txt).
        "users": f"{USER}:{PasswordHasher().hash(PASSWORD)}\n",
    }
    for name, value in values.items():
        (folder / name).write_text(value)
        (folder / name).chmod(0o644)
    return values


@pytest.fixture(scope="session", autouse=True)
def domain_resolves_to_loopback():
    """DOMAIN's DNS record, for this process: its address is the published ports' 127.0.0.1."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == DOMAIN else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    yield
    socket.getaddrinfo = real_getaddrinfo


@pytest.fixture(scope="session")
def images() -> dict[str, str]:
    """The app's runtime image from this tree, and Pebble's test image."""
    app = f"{APP_IMAGE_USER}/dockerapp:{APP_IMAGE_TAG}"
    build_args = {"VERSION": "edge"}
    if os.environ.get("PYTHON_IMAGE"):
        build_args["PYTHON_IMAGE"] = os.environ["PYTHON_IMAGE"]
    docker(*build_command(app, REPO, target="runtime", **build_args)[1:], timeout=900)
    debian = base_image("DEBIAN_IMAGE", "localbase/debian:trixie-slim", "debian:trixie-slim")
    docker("build", "--quiet", f"--build-arg=DEBIAN_IMAGE={debian}", "-t", PEBBLE_IMAGE,
           "-f", str(HERE / "pebble.Dockerfile"), str(HERE), timeout=600)  # fmt: skip
    return {"app": app, "pebble": PEBBLE_IMAGE}


@pytest.fixture(scope="session")
def edge(tmp_path_factory, images) -> EdgeStack:
    """prod.yml + edge.yml up, and Caddy serving a certificate Pebble issued for DOMAIN."""
    workdir = tmp_path_factory.mktemp("edge")
    workdir.chmod(0o755)  # bind-mounted files inside must be reachable by the containers' users
    make_pebble_api_certificate(workdir / "pebble-api")
    write_secrets(workdir / "secrets")
    candidates = iter(range(15100, 15500))
    env = {
        "DOCKER_HUB_USER_ID": APP_IMAGE_USER,
        "TAG": APP_IMAGE_TAG,
        "DOMAIN": DOMAIN,
        "ACME_CA": "https://pebble:14000/dir",
        "ACME_CA_ROOT": str(workdir / "pebble-api" / "ca.pem"),
        "DOCKERAPP_ADDRESS": "127.0.0.1",
        "HTTP_PORT": str(free_port(candidates)),
        "HTTPS_PORT": str(free_port(candidates)),
        "PEBBLE_MANAGEMENT_PORT": str(free_port(candidates)),
        "PEBBLE_IMAGE": images["pebble"],
        "EDGE_WORKDIR": str(workdir),
    }
    stack = EdgeStack(workdir, env)
    stack.compose("down", "--volumes", "--remove-orphans", check=False)  # leftovers of a crash
    try:
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "120")
        stack.wait_for_certificate()
        yield stack
    finally:
        stack.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
