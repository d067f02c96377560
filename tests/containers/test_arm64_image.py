"""The arm64 image, built on this machine as `make publish` builds it: the dependency step runs on
the build machine's own platform (no QEMU) and installs arm64 wheels; the image runs under QEMU."""

import json
import re
import secrets

from conftest import BUILD_ARGS, PREFIX, build, remove_containers
from conftest import get_inside as get

from tests.host_helpers import DockerFailed, docker, wait_until

NATIVE = "linux/" + docker("version", "--format", "{{.Server.Arch}}").stdout.strip()
# In a build for several platforms, BuildKit's plain log labels each step with its platform:
# `[linux/arm64 runtime 2/6]` for a step that runs arm64 programs, `[linux/amd64->arm64 builder
# 6/6]` for one that runs on amd64 for the arm64 image.
STEP = re.compile(r"^#\d+ \[(?P<platform>\S+) (?P<stage>[a-z-]+) \d+/\d+\] RUN ", re.M)


def test_no_builder_step_runs_under_emulation(scratch_context):
    log = build(
        f"{PREFIX}:arm64-steps", target="runtime", context=scratch_context,
        platform=f"{NATIVE},linux/arm64", progress=True,
    ).stderr  # fmt: skip
    docker("rmi", f"{PREFIX}:arm64-steps", check=False)
    steps = {(match["stage"], match["platform"]) for match in STEP.finditer(log)}
    builder = {platform for stage, platform in steps if stage == "builder"}
    assert builder, log[-3000:]  # the log was read: the builder's RUN steps are in it
    assert builder <= {NATIVE, f"{NATIVE}->arm64"}, steps
    if NATIVE != "linux/arm64":  # then nothing at all runs arm64 programs, QEMU included
        assert not [step for step in steps if step[1] == "linux/arm64"], steps


def test_the_arm64_image_answers_healthz_with_its_revision(runtime_image_arm64):
    name = f"{PREFIX}-arm64-{secrets.token_hex(3)}"
    docker("run", "--detach", "--name", name, "--platform", "linux/arm64",
           "--env", f"SECRET_KEY={secrets.token_hex(32)}", runtime_image_arm64)  # fmt: skip
    try:
        # Under QEMU gunicorn takes several seconds to answer.
        status, body = wait_until(
            lambda: _answer(name), 120, "/healthz to answer", explain=lambda: _logs(name)
        )
        assert status == 200, body
        assert json.loads(body)["revision"] == BUILD_ARGS["GIT_REVISION"]
        machine = docker("exec", name, "python", "-c", "import os; print(os.uname().machine)")
        assert machine.stdout.strip() == "aarch64"
    finally:
        remove_containers(name)


def _answer(container: str):
    try:
        return get(container, "/healthz")
    except DockerFailed:  # not listening yet
        return None


def _logs(container: str) -> str:
    return docker("logs", container, check=False).stderr[-2000:]


# Loads the C extensions (an argon2id hash runs argon2-cffi-bindings' C code), then reads the ELF
# header's machine field (bytes 18-19, little-endian) of every one: 183 is AArch64.
EXTENSIONS = """
import pathlib, site, sys
import _cffi_backend, hiredis, markupsafe._speedups
from argon2 import PasswordHasher
assert PasswordHasher().hash("x").startswith("$argon2id$")
packages = pathlib.Path(site.getsitepackages()[0])
machines = {int.from_bytes(path.read_bytes()[18:20], "little") for path in packages.rglob("*.so")}
print(sys.prefix, sys.base_prefix, sorted(machines))
"""


def test_its_venv_runs_on_the_images_python_with_arm64_extensions(runtime_image_arm64):
    # The venv was made by the builder's (amd64) Python of the same image tag: its interpreter
    # link and pyvenv.cfg must point at the arm64 image's Python, and every C extension must be
    # an arm64 one that loads.
    output = docker("run", "--rm", "--platform", "linux/arm64", runtime_image_arm64,
                    "python", "-c", EXTENSIONS).stdout.split()  # fmt: skip
    prefix, base_prefix, machines = output[0], output[1], " ".join(output[2:])
    assert prefix == "/opt/venv"
    assert base_prefix != "/opt/venv"
    assert machines == "[183]"
