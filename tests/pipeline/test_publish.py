"""`make publish` against a real registry: what it pushes is the image of the published commit."""

import os
import re
import secrets
import time

import pytest
import requests

REVISION_LABEL = "org.opencontainers.image.revision"
USER = "publish"


@pytest.fixture(scope="module")
def pulled_back(registry, runtime_image, head_sha, publish, docker_cli, tmp_path_factory):
    """Publish HEAD as CircleCI does on main, drop the local tags, pull both tags back.

    runtime_image is requested only to warm the build cache: `make publish` builds on its own.
    """
    docker_config = tmp_path_factory.mktemp("docker-config")
    result = publish(
        {**registry.credentials(USER), "CIRCLE_BRANCH": "main"}, docker_config, via_make=True
    )
    assert result.returncode == 0, result.stdout
    repository = f"{registry.host}/{USER}/dockerapp"
    references = [f"{repository}:{head_sha}", f"{repository}:latest"]
    docker_cli("image", "rm", *references)
    registry.login(USER, docker_config)
    env = {**os.environ, "DOCKER_CONFIG": str(docker_config)}
    pull_digests = {}
    for reference in references:
        pulled = docker_cli("pull", reference, env=env).stdout
        pull_digests[reference] = re.search(r"Digest: (sha256:[0-9a-f]{64})", pulled).group(1)
    return {"repository": repository, "pull_digests": pull_digests, "output": result.stdout}


def test_make_publish_on_main_pushes_the_sha_tag_and_latest(registry, pulled_back, head_sha):
    assert registry.tags(USER) == sorted([head_sha, "latest"])


def test_both_tags_pull_back_as_the_manifest_the_registry_holds(registry, pulled_back, head_sha):
    assert set(pulled_back["pull_digests"].values()) == {registry.manifest_digest(USER, head_sha)}
    assert registry.manifest_digest(USER, "latest") == registry.manifest_digest(USER, head_sha)


def test_pulled_image_is_labelled_with_the_commit_it_is_tagged_with(
    pulled_back, head_sha, docker_cli
):
    label = docker_cli(
        "image",
        "inspect",
        "--format",
        f'{{{{index .Config.Labels "{REVISION_LABEL}"}}}}',
        f"{pulled_back['repository']}:{head_sha}",
    ).stdout.strip()
    assert label == head_sha


def test_pulled_image_reports_its_revision_in_healthz(
    pulled_back, head_sha, docker_cli, pipeline_port
):
    name = f"dockerapp-pipeline-healthz-{pipeline_port}"
    docker_cli(
        "run",
        "-d",
        "--name",
        name,
        "-p",
        f"127.0.0.1:{pipeline_port}:5000",
        "-e",
        f"SECRET_KEY={secrets.token_hex(32)}",
        f"{pulled_back['repository']}:{head_sha}",
    )
    try:
        health = wait_for_healthz(f"http://127.0.0.1:{pipeline_port}/healthz")
        assert health, docker_cli("logs", name, check=False).stderr[-3000:]
        assert health["status"] == "ok"
        assert health["revision"] == head_sha
    finally:
        docker_cli("rm", "-f", name, check=False)


def wait_for_healthz(url: str) -> dict:
    """The /healthz JSON once the server answers (gunicorn takes a moment to boot); {} if never."""
    for _ in range(150):
        try:
            response = requests.get(url, timeout=1)
            if response.status_code == 200:
                return response.json()
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    return {}
