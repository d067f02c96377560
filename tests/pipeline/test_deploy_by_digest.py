"""prod.yml and stack.yml run DOCKERAPP_IMAGE: the image by the digest `make verify` checked."""

import json
import os
import secrets
import subprocess

import pytest
import requests

from tests.pipeline.conftest import REPO_ROOT, dotenv
from tests.pipeline.test_publish import wait_for_healthz

DIGEST_REFERENCE = "registry.example.com/someone/dockerapp@sha256:" + "ab" * 32
IMAGE_VARIABLES = ("DOCKERAPP_IMAGE", "DOCKER_HUB_USER_ID", "TAG")


def resolved(command: list, **variables: str) -> subprocess.CompletedProcess:
    """A Compose or stack file as the CLI resolves it, with only the given image variables set."""
    env = {name: value for name, value in os.environ.items() if name not in IMAGE_VARIABLES}
    env["DOMAIN"] = "dockerapp.test"  # prod.yml's Caddy requires one
    return subprocess.run(
        command, cwd=REPO_ROOT, env={**env, **variables}, capture_output=True, text=True
    )


def compose_image(**variables: str) -> str:
    result = resolved(
        ["docker", "compose", "-f", "prod.yml", "config", "--format", "json"], **variables
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]["dockerapp"]["image"]


def stack_image(**variables: str) -> str:
    result = resolved(["docker", "stack", "config", "-c", "stack.yml"], **variables)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "/dockerapp" in line)
    return line.split("image: ", 1)[1]


def test_prod_yml_runs_the_image_by_digest(tmp_path):
    assert compose_image(DOCKERAPP_IMAGE=DIGEST_REFERENCE) == DIGEST_REFERENCE


def test_prod_yml_still_runs_a_tag_when_no_digest_is_given():
    assert compose_image(DOCKER_HUB_USER_ID="someone", TAG="abc123") == "someone/dockerapp:abc123"


def test_stack_yml_runs_the_image_by_digest():
    assert stack_image(DOCKERAPP_IMAGE=DIGEST_REFERENCE) == DIGEST_REFERENCE


def test_stack_yml_refuses_to_deploy_without_naming_the_image():
    result = resolved(
        ["docker", "stack", "config", "-c", "stack.yml"], DOCKER_HUB_USER_ID="someone"
    )
    assert result.returncode != 0
    assert "DOCKERAPP_IMAGE" in result.stderr


@pytest.fixture
def prod_secrets(tmp_path) -> str:
    """Throwaway secret files, and a Compose file pointing prod.yml's secrets at them."""
    names = ("redis_password", "secret_key", "api_tokens", "users")
    for name in names:
        (tmp_path / name).write_text("" if name == "users" else secrets.token_urlsafe(32) + "\n")
        (tmp_path / name).chmod(0o644)
    override = tmp_path / "secrets.yml"
    override.write_text(
        "secrets:\n" + "".join(f"  {name}: {{file: {tmp_path / name}}}\n" for name in names)
    )
    return str(override)


def test_the_verified_digest_deploys_with_prod_yml_and_runs_that_commit(
    release, signing_key, verify, prod_secrets, pipeline_port
):
    assert verify(release.image, signing_key.trust(), release.docker_config).returncode == 0
    env = {
        **os.environ,
        **dotenv("REDIS_IMAGE"),  # the stand-in Redis where Docker Hub is out of reach
        "DOCKER_CONFIG": str(release.docker_config),  # pulls from the test registry
        "DOCKERAPP_IMAGE": release.image,
        "DOCKERAPP_ADDRESS": "127.0.0.1",
        "DOCKERAPP_PORT": str(pipeline_port),
        "DOMAIN": "dockerapp.test",  # required by prod.yml; its Caddy stays off here
        "COMPOSE_PROJECT_NAME": f"dockerapp-pipeline-deploy-{pipeline_port}",
    }
    # The app published on 127.0.0.1 directly: this checks the image that runs, not the edge.
    compose = ["docker", "compose", "-f", "prod.yml", "-f", "tests/prod-app-published.yml"]
    compose += ["-f", prod_secrets]
    try:
        up = subprocess.run(
            [*compose, "up", "--detach", "--wait"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert up.returncode == 0, up.stderr[-3000:]
        health = wait_for_healthz(f"http://127.0.0.1:{pipeline_port}/healthz")
        assert health["revision"] == release.sha
        ready = requests.get(f"http://127.0.0.1:{pipeline_port}/readyz", timeout=5)
        assert ready.status_code == 200
    finally:
        subprocess.run(
            [*compose, "down", "--volumes"],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            check=False,
        )
