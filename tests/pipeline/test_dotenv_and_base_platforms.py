"""`make publish` and `make verify` read .env as `make build` does, and a publish for a platform
the local base image lacks says in one line what to rebuild.

Each test runs the real Makefile and scripts in a small git checkout of their own, with its own
.env, so the developer's .env is neither read nor touched. The publish runs log in to the
tests' registry and stop at the platform check, or at a build that has no Dockerfile: nothing
is pushed.
"""

import os
import shutil
import subprocess

import pytest
from conftest import BUILD_INPUTS, PIPELINE_INPUTS, REPO_ROOT, docker

# What the native engine has; the other one is missing from an image imported for it alone.
OTHER_PLATFORM = {"amd64": "arm64", "arm64": "amd64"}


@pytest.fixture(scope="module")
def native_platform() -> str:
    arch = docker("version", "--format", "{{.Server.Arch}}").stdout.strip()
    assert arch in OTHER_PLATFORM, f"an engine on {arch}: the test knows amd64 and arm64"
    return arch


@pytest.fixture(scope="module")
def one_platform_stand_in(native_platform):
    """A local image for the native platform only, named like the stand-ins of base-images."""
    tag = "localbase/dockerapp-pipeline-test:one-platform"
    empty_layer = subprocess.run(
        ["tar", "-cf", "-", "--files-from", "/dev/null"], capture_output=True, check=True
    ).stdout
    subprocess.run(
        ["docker", "import", "--platform", f"linux/{native_platform}", "-", tag],
        input=empty_layer,
        capture_output=True,
        check=True,
    )
    yield tag
    docker("image", "rm", tag, check=False)


def checkout_with_dotenv(folder, dotenv: str):
    """The Makefile and scripts/ in a one-commit git checkout, with the given .env."""
    folder.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "Makefile", folder)
    shutil.copytree(REPO_ROOT / "scripts", folder / "scripts")
    (folder / ".env").write_text(dotenv)
    git = ["git", "-C", str(folder), "-c", "user.name=test", "-c", "user.email=test@invalid"]
    subprocess.run([*git, "init", "--quiet", "--initial-branch", "work"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "test"], check=True)
    return folder


def cosign_stand_in(folder) -> str:
    """A folder with a `cosign` the scripts require on PATH; they stop before running it."""
    (folder / "bin").mkdir()
    (folder / "bin/cosign").write_text("#!/bin/sh\necho cosign must not run here >&2\nexit 99\n")
    (folder / "bin/cosign").chmod(0o755)
    return str(folder / "bin")


def make(folder, *args: str, extra_path=None) -> subprocess.CompletedProcess:
    """`make ARGS` in FOLDER with none of the pipeline's inputs set in the environment."""
    dropped = {*PIPELINE_INPUTS, *BUILD_INPUTS, "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env["DOCKER_CONFIG"] = str(folder / "docker-config")
    if extra_path:
        env["PATH"] = f"{extra_path}:{env['PATH']}"
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )


def publish_dotenv(python_image: str, platforms: str, registry) -> str:
    """Settings that pass publish's own checks and log in to the test registry."""
    credentials = registry.credentials("dotenv")
    return (
        f"PYTHON_IMAGE={python_image}\n"
        f"PLATFORMS={platforms}\n"
        + "".join(f"{name}={value}\n" for name, value in credentials.items())
        + "COSIGN_KEY=-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY----- (never read)\n"
        "COSIGN_PASSWORD=\n"
    )


def test_publish_from_dotenv_names_the_base_platform_to_rebuild(
    tmp_path, registry, one_platform_stand_in, native_platform
):
    missing = OTHER_PLATFORM[native_platform]
    platforms = ",".join(sorted([f"linux/{native_platform}", f"linux/{missing}"]))
    folder = checkout_with_dotenv(
        tmp_path, publish_dotenv(one_platform_stand_in, platforms, registry)
    )
    result = make(folder, "publish", extra_path=cosign_stand_in(tmp_path))
    assert result.returncode != 0, result.stdout
    expected = (
        f"publish: PYTHON_IMAGE {one_platform_stand_in} has no linux/{missing} variant:"
        f" run BASE_PLATFORMS={platforms} make base-images"
    )
    assert expected in result.stdout.splitlines(), result.stdout
    assert "no match for platform" not in result.stdout


def test_publish_from_dotenv_goes_on_when_the_base_has_every_platform(
    tmp_path, registry, one_platform_stand_in, native_platform
):
    dotenv = publish_dotenv(one_platform_stand_in, f"linux/{native_platform}", registry)
    folder = checkout_with_dotenv(tmp_path, dotenv)
    result = make(folder, "publish", extra_path=cosign_stand_in(tmp_path))
    # Past the platform check, it builds; this checkout has no Dockerfile, so that fails.
    assert "has no linux/" not in result.stdout, result.stdout
    assert f"publish: building or pushing {registry.host}/dotenv/dockerapp:" in result.stdout
    assert registry.tags("dotenv") == []
    assert result.returncode != 0


def test_verify_reads_dotenv(tmp_path):
    # verify.sh stops at the .env's bad setting, before it runs cosign.
    stand_ins = cosign_stand_in(tmp_path)
    dotenv = "COSIGN_PUBLIC_KEY=cosign.pub\nTRANSPARENCY_LOG=from-dotenv\n"
    folder = checkout_with_dotenv(tmp_path / "checkout", dotenv)
    image = "127.0.0.1:17999/dotenv/dockerapp@sha256:" + "0" * 64
    result = make(folder, "verify", f"IMAGE={image}", extra_path=stand_ins)
    assert result.returncode != 0
    assert "verify: TRANSPARENCY_LOG must be true or false, got 'from-dotenv'" in result.stdout
