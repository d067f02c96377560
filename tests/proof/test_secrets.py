"""Secrets: never in the image, `docker inspect` or logs; production refuses to run without.

Runs last, so the log scan covers everything the other checks made the app and Redis log.
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests.host_helpers import docker
from tests.image_scan import needles_in_archive

from .stack import APP, PROJECT, REDIS

APP_SOURCE = Path(__file__).resolve().parents[2] / "app"
CONTROL = "the app's code"


def test_no_secret_in_the_image_layers_or_history(proof_image, throwaway_secrets, tmp_path, figure):
    """No secret in the image's layers, config or history, though the build context held them"""
    archive = tmp_path / "image.tar"
    docker("save", "-o", str(archive), proof_image, timeout=300)
    # The app's own code is in the layers: finding it shows the scan read them as files (a
    # layer format it could not unpack would hide the code and any secret alike).
    control = (APP_SOURCE / "__init__.py").read_bytes()
    try:
        needles = {name: value.encode() for name, value in throwaway_secrets.items()}
        found, scanned = needles_in_archive(archive, {**needles, CONTROL: control})
    finally:
        archive.unlink()  # ~160 MB; pytest keeps the last runs' temporary directories
    in_layers = {name for name in found if not name.startswith(CONTROL)}
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", proof_image).stdout
    config = docker("image", "inspect", proof_image).stdout
    in_metadata = {name for name, value in throwaway_secrets.items() if value in history + config}
    figure(
        bytes_scanned=scanned,
        history_lines=len(history.splitlines()),
        found=len(in_layers | in_metadata),
    )
    assert scanned > 10_000_000, "docker save wrote too little to be the image"
    assert found - in_layers, "the scan did not find the app's code in the layers"
    assert not in_layers, f"in the image's layers: {in_layers}"
    assert not in_metadata, f"in the image's history or config: {in_metadata}"


def test_no_secret_in_docker_inspect(stack, throwaway_secrets, figure):
    """No secret in `docker inspect` of either container (environment, command, labels, anything)"""
    inspected = {service: json.dumps(stack.inspect(service)) for service in (APP, REDIS)}
    leaks = [
        (service, name)
        for service, text in inspected.items()
        for name, value in throwaway_secrets.items()
        if value in text
    ]
    env_names = {item.split("=", 1)[0] for item in stack.inspect(APP)["Config"]["Env"]}
    figure(containers=len(inspected), env_vars=len(env_names), found=len(leaks))
    assert not leaks
    assert not env_names & {"SECRET_KEY", "REDIS_PASSWORD"}


def test_no_secret_in_process_arguments(stack, throwaway_secrets, figure):
    """No secret in the command lines of the containers' processes (what `ps` on the host shows)"""
    listing = "".join(
        docker("top", stack.container(service), "-eo", "pid,args").stdout
        for service in (APP, REDIS)
    )
    leaks = [name for name, value in throwaway_secrets.items() if value in listing]
    figure(processes=len(listing.splitlines()) - 2, found=len(leaks))
    assert not leaks


def test_no_secret_in_the_logs(stack, throwaway_secrets, figure):
    """No secret in the logs of either container, after all the faults of this run"""
    logs = stack.compose("logs", "--no-color", "--no-log-prefix").stdout
    leaks = [name for name, value in throwaway_secrets.items() if value in logs]
    figure(log_lines=len(logs.splitlines()), found=len(leaks))
    assert logs.strip(), "no logs at all: the scan would prove nothing"
    assert not leaks


def development_secret(image: str) -> str:
    """The app's built-in development secret, read from the image itself."""
    code = "from app.config import Settings; print(Settings().secret_key)"
    return docker(
        "run", "--rm", "--network", "none", "--entrypoint", "python", image, "-c", code
    ).stdout.strip()


REFUSALS = {
    "no secret": {},
    "the development default": {"SECRET_KEY": None},  # filled in from the image
    "an unreadable secret file": {"SECRET_KEY_FILE": "/run/secrets/absent"},
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_production_refuses_to_start_without_a_real_secret(proof_image, figure, case):
    """APP_ENV=production with a missing or default secret: non-zero exit and one line naming it"""
    env = {"APP_ENV": "production", **REFUSALS[case]}
    if "SECRET_KEY" in env:
        env["SECRET_KEY"] = development_secret(proof_image)
    name = f"{PROJECT}-refusal-{os_safe(case)}"
    flags = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    docker("rm", "-f", name, check=False)  # left over by an interrupted run
    try:
        result = docker(
            "run",
            "--rm",
            "--name",
            name,
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/tmp",
            *flags,
            proof_image,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        docker("rm", "-f", name, check=False)
        raise AssertionError("the app kept running (or retrying) instead of refusing") from None
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    figure(
        exit_code=result.returncode, message=lines[0] if len(lines) == 1 else f"{len(lines)} lines"
    )
    assert result.returncode not in (0, 125, 126, 127), "125-127 are docker's own failures"
    assert len(lines) == 1 and "SECRET_KEY" in lines[0], lines[:10]
    assert "Traceback" not in result.stderr


def os_safe(text: str) -> str:
    return "".join(char if char.isalnum() else "-" for char in text)
