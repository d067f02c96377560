"""The base images keep the official images' contract, stand-ins (`make base-images`) included.

Run against PYTHON_IMAGE / REDIS_IMAGE (the stand-ins in CI, the official images where a registry
answers), PYTHON_313_IMAGE and ORIGINAL_PYTHON_IMAGE (`make bench`'s original, Python 3.11 on
Debian 12), so a stand-in that stopped matching the official image fails here.
"""

import json
import os
import re

import pytest
from conftest import PREFIX, ROOT, compose_default_redis_image, dockerfile_default
from conftest import remove_containers as remove

from tests.host_helpers import docker, wait_until


def minor(tag: str) -> str:
    """The Python minor version in an image tag: python:3.14.8-slim-trixie -> 3.14."""
    return re.search(r"(\d+\.\d+)", tag.split(":")[-1]).group(1)


def makefile_default(name: str) -> str:
    text = (ROOT / "Makefile").read_text()
    return re.search(rf"^{name} \?= (\S+)", text, re.MULTILINE).group(1)


def original_default() -> str:
    """The default base image of bench/original/Dockerfile."""
    text = (ROOT / "bench" / "original" / "Dockerfile").read_text()
    return re.search(r"^ARG ORIGINAL_PYTHON_IMAGE=(\S+)", text, re.MULTILINE).group(1)


DEBIAN_VERSIONS = {"bookworm": "12", "trixie": "13"}  # the suite in an official tag, its release
PYTHON_IMAGES = {
    # image to test -> the official tag whose contract it keeps
    os.environ.get("PYTHON_IMAGE", dockerfile_default("PYTHON_IMAGE")): dockerfile_default(
        "PYTHON_IMAGE"
    ),
    os.environ.get("PYTHON_313_IMAGE", makefile_default("PYTHON_313_IMAGE")): makefile_default(
        "PYTHON_313_IMAGE"
    ),
    os.environ.get("ORIGINAL_PYTHON_IMAGE", original_default()): original_default(),
}
PYTHON_CONTRACT = """
import os, shutil, subprocess, sys, sysconfig
print(sys.version_info[0], sys.version_info[1])
print(*(shutil.which(name) for name in ("python", "python3", "pip")))
print(os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))
print(os.environ.get("LANG"))
def run(*command):
    return subprocess.run(command, capture_output=True, text=True)
run(sys.executable, "-m", "venv", "/tmp/venv")
print(run("/tmp/venv/bin/pip", "--version").stdout.split()[0])
print(run("pip", "install", "--no-index", "--dry-run", "pip").returncode)
print(open("/etc/os-release").read().split('VERSION_ID="')[1].split('"')[0])
"""


@pytest.mark.parametrize(("image", "official"), PYTHON_IMAGES.items())
def test_python_image_keeps_the_official_contract(image, official):
    lines = docker("run", "--rm", image, "python3", "-c", PYTHON_CONTRACT).stdout.splitlines()
    version, commands, marker, lang, venv_pip, pip_install, debian = lines
    assert version.replace(" ", ".") == minor(official)  # the same Python line as the pinned tag
    assert commands.split() == [
        "/usr/local/bin/python",
        "/usr/local/bin/python3",
        "/usr/local/bin/pip",
    ]
    assert marker == "False"  # pip may install outside a venv, as on the official image
    assert pip_install == "0"
    assert lang == "C.UTF-8"
    assert venv_pip == "pip"
    assert debian == DEBIAN_VERSIONS[official.rsplit("-", 1)[1]]  # the official tag's Debian


@pytest.mark.parametrize("image", PYTHON_IMAGES)
def test_python_image_runs_python3_as_root_by_default(image):
    config = docker("inspect", "--format", "{{json .Config.Cmd}} {{.Config.User}}", image).stdout
    assert config.split() == ['["python3"]']  # and no USER: root, as the official image


REDIS_IMAGE = os.environ.get("REDIS_IMAGE", compose_default_redis_image())


def test_redis_image_has_the_major_version_and_the_redis_account():
    official_major = compose_default_redis_image().split(":")[1].split(".")[0]
    version = docker("run", "--rm", REDIS_IMAGE, "redis-server", "--version").stdout
    assert re.search(r"v=(\d+)\.", version).group(1) == official_major
    assert docker("run", "--rm", REDIS_IMAGE, "id", "redis").stdout.startswith(
        "uid=999(redis) gid=999(redis)"
    )
    working_dir = docker("inspect", "--format", "{{.Config.WorkingDir}} {{json .Config.Volumes}}",
                         REDIS_IMAGE).stdout.split(maxsplit=1)  # fmt: skip
    assert working_dir[0] == "/data" and "/data" in working_dir[1]


@pytest.fixture
def redis_network():
    network = f"{PREFIX}-redis-contract"
    docker("network", "create", network)
    try:
        yield network
    finally:
        remove(f"{PREFIX}-redis-contract")
        docker("network", "rm", network, check=False)


def test_redis_passes_options_drops_to_redis_and_serves_other_containers(redis_network):
    name = f"{PREFIX}-redis-contract"
    # Options alone, as with the official image: redis-server with those options.
    docker("run", "--detach", "--name", name, "--network", redis_network, REDIS_IMAGE,
           "--appendonly", "yes")  # fmt: skip
    client = ["run", "--rm", "--network", redis_network, REDIS_IMAGE, "redis-cli", "-h", name]
    # Reachable from another container with no password: protected mode is off.
    pong = lambda: docker(*client, "ping", check=False).stdout.strip() == "PONG"  # noqa: E731
    wait_until(pong, 30, f"{name} to answer PING from another container")
    assert docker(*client, "config", "get", "appendonly").stdout.split() == ["appendonly", "yes"]
    assert docker(*client, "config", "get", "dir").stdout.split() == ["dir", "/data"]
    status = docker("exec", name, "cat", "/proc/1/status").stdout
    assert re.search(r"^Uid:\s+999\s", status, re.MULTILINE), (
        status
    )  # started as root, runs as redis
    assert docker(
        "exec", name, "sh", "-c", "ls -n /data | tail -n +2 | awk '{print $3}' | sort -u"
    ).stdout.split() in ([], ["999"])


@pytest.fixture
def sentinel_network():
    network = f"{PREFIX}-sentinel-contract"
    docker("network", "create", network)
    try:
        yield network
    finally:
        remove(f"{network}-redis", f"{network}-sentinel")
        docker("network", "rm", network, check=False)


def test_redis_image_runs_sentinel_like_the_official_image(sentinel_network):
    # stack.yml and k8s run Sentinel from this image: `redis-sentinel` must be on PATH and
    # `redis-server --sentinel` must start one, which then finds the primary it monitors.
    assert docker("run", "--rm", REDIS_IMAGE, "sh", "-c", "command -v redis-sentinel").stdout
    primary, sentinel = f"{sentinel_network}-redis", f"{sentinel_network}-sentinel"
    docker("run", "--detach", "--name", primary, "--network", sentinel_network, REDIS_IMAGE)
    # Sentinel rewrites its config file, so it gets a writable one; names, not addresses.
    config = (
        "sentinel resolve-hostnames yes\\n"
        "sentinel announce-hostnames yes\\n"
        f"sentinel monitor contract {primary} 6379 1\\n"
    )
    docker(
        "run", "--detach", "--name", sentinel, "--network", sentinel_network, "--user", "redis",
        REDIS_IMAGE, "sh", "-c",
        f"printf '{config}' >/tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel",
    )  # fmt: skip
    ask = ["exec", sentinel, "redis-cli", "-p", "26379"]
    question = (*ask, "sentinel", "get-master-addr-by-name", "contract")
    names_primary = lambda: docker(*question, check=False).stdout.split() == [primary, "6379"]  # noqa: E731
    wait_until(names_primary, 30, f"the Sentinel to name {primary} as the primary")
    info = docker(*ask, "info", "sentinel").stdout
    assert "status=ok" in info, info


def prod_yml_default_caddy_image() -> str:
    """The official Caddy image that prod.yml pins (`${CADDY_IMAGE:-...}`)."""
    text = (ROOT / "prod.yml").read_text()
    return text.split("${CADDY_IMAGE:-", 1)[1].split("}", 1)[0]


CADDY_IMAGE = os.environ.get("CADDY_IMAGE", prod_yml_default_caddy_image())


def test_caddy_image_keeps_the_official_contract():
    config = json.loads(docker("inspect", "--format", "{{json .Config}}", CADDY_IMAGE).stdout)
    assert config["Cmd"] == [
        "caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"
    ]  # fmt: skip
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["XDG_CONFIG_HOME"], env["XDG_DATA_HOME"]) == ("/config", "/data")
    assert {"/config", "/data"} <= set(config["Volumes"])
    assert {"80/tcp", "443/tcp", "443/udp"} <= set(config["ExposedPorts"])
    assert config["WorkingDir"] == "/srv"
    assert config.get("User", "") in ("", "root", "0")  # root, as the official; prod.yml drops caps
    # The same minor release as the pinned official tag: 2.11.4 -> v2.11.
    official = re.search(r":(\d+\.\d+)", prod_yml_default_caddy_image()).group(1)
    version = docker("run", "--rm", CADDY_IMAGE, "caddy", "version").stdout
    assert re.match(rf"v?{re.escape(official)}\.", version), version


def test_caddy_image_runs_the_repos_caddyfile():
    # The Caddyfile of prod.yml, adapted and validated by the Caddy in the image prod.yml runs.
    result = docker(
        "run", "--rm", "--env", "DOMAIN=dockerapp.test", "--env", "ACME_CA=https://ca.test/dir",
        "--volume", f"{ROOT / 'Caddyfile'}:/etc/caddy/Caddyfile:ro", CADDY_IMAGE,
        "caddy", "validate", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile",
    )  # fmt: skip
    assert "Valid configuration" in result.stdout + result.stderr
