"""A Windows checkout (core.autocrlf=true, Git for Windows' default) still builds and runs.

Without .gitattributes such a checkout turns every script to CRLF, and a container then fails
with "no such file or directory" (the kernel looks for the interpreter `sh\\r`). The tests clone
the committed HEAD with that setting, as a Windows user would, and use what they got.
"""

import json
import subprocess

import pytest
from conftest import BUILD_ARGS, PREFIX, ROOT, build, get_inside, health, run
from conftest import remove_containers as remove

from tests.host_helpers import docker, wait_until


@pytest.fixture(scope="module")
def autocrlf_checkout(tmp_path_factory):
    """A clone of the committed HEAD made with core.autocrlf=true."""
    checkout = tmp_path_factory.mktemp("autocrlf") / "dockerapp"
    head = run("git", "rev-parse", "HEAD").stdout.strip()
    run(
        "git",
        "-c",
        "core.autocrlf=true",
        "clone",
        "--quiet",
        "--no-checkout",
        str(ROOT),
        str(checkout),
    )
    run("git", "-C", str(checkout), "config", "core.autocrlf", "true")
    run("git", "-C", str(checkout), "checkout", "--quiet", "--detach", head)
    return checkout


def test_no_tracked_text_file_has_crlf_in_an_autocrlf_checkout(autocrlf_checkout):
    # `ls-files --eol` reports each file's line endings in the index (i/) and on disk (w/).
    listing = run("git", "-C", str(autocrlf_checkout), "ls-files", "--eol").stdout.splitlines()
    assert len(listing) > 50, f"the clone lists too few files to judge: {listing}"
    assert [line for line in listing if "w/crlf" in line or "w/mixed" in line] == []
    assert sum("w/lf" in line for line in listing) > 50, "no LF text file found in the clone"


def test_scripts_and_entrypoints_of_an_autocrlf_checkout_run(autocrlf_checkout, redis_image):
    # A script run through its shebang line, as make and CI run them.
    script = subprocess.run(
        [str(autocrlf_checkout / "scripts/check-docker.sh")], capture_output=True, text=True
    )
    assert script.returncode == 0, script.stderr
    # The stand-in Redis image's entrypoint, exec'd by the container runtime as the image does.
    # As the redis user, so it goes straight to redis-server (the root branch re-execs via setpriv).
    entrypoint = autocrlf_checkout / "base-images/redis-entrypoint.sh"
    version = docker(
        "run", "--rm", "--user", "999:999",
        "--volume", f"{entrypoint}:/usr/local/bin/checkout-entrypoint.sh:ro",
        "--entrypoint", "/usr/local/bin/checkout-entrypoint.sh",
        redis_image, "redis-server", "--version",
    )  # fmt: skip
    assert version.stdout.startswith("Redis server v="), version.stdout
    # The app image built from that checkout (one build) starts and answers /healthz.
    image, container = f"{PREFIX}:autocrlf", f"{PREFIX}-autocrlf"
    build(image, target="runtime", context=autocrlf_checkout)
    try:
        docker("run", "--detach", "--name", container, "--network", "none", image)
        wait_until(lambda: health(container) == "healthy", 60, "the HEALTHCHECK to pass")
        status, body = get_inside(container, "/healthz")
        assert status == 200
        assert json.loads(body)["revision"] == BUILD_ARGS["GIT_REVISION"]
    finally:
        remove(container)
        docker("image", "rm", image, check=False)
