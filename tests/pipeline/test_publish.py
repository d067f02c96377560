"""`make publish` against a real registry: one signed index for both platforms, the commit's own."""

import base64
import json
import os
import re
import secrets
import subprocess
from collections.abc import Callable

import pytest
import requests

from tests.host_helpers import wait_until
from tests.pipeline.conftest import REPO_ROOT

PLATFORMS = ("linux/amd64", "linux/arm64")
MACHINES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}  # what the kernel (or QEMU) says
PROVENANCE = "https://slsa.dev/provenance/v0.2"


def platform_of(entry: dict) -> str:
    return f"{entry['platform']['os']}/{entry['platform']['architecture']}"


def test_the_digest_is_printed_on_a_line_of_its_own(release):
    assert f"\npublish: digest {release.digest}\n" in release.output


def test_on_main_both_tags_point_at_the_printed_digest(registry, release):
    assert registry.tags("release") == sorted([release.sha, "latest"])
    for tag in (release.sha, "latest"):
        digest, _ = registry.manifest("release", tag)
        assert digest == release.digest, tag


def test_the_index_holds_an_image_for_each_platform(registry, release):
    _, index = registry.manifest("release", release.digest)
    images = [entry for entry in index["manifests"] if entry["platform"]["os"] != "unknown"]
    assert sorted(platform_of(entry) for entry in images) == sorted(PLATFORMS)


def test_each_image_has_buildkit_provenance_in_max_mode(registry, release):
    _, index = registry.manifest("release", release.digest)
    images = {
        e["digest"]: platform_of(e) for e in index["manifests"] if e["platform"]["os"] != "unknown"
    }
    attestations = [
        entry["annotations"]
        for entry in index["manifests"]
        if entry.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
    ]
    assert sorted(a["vnd.docker.reference.digest"] for a in attestations) == sorted(images)
    for attestation in attestations:
        _, manifest = registry.manifest("release", index_entry_digest(index, attestation))
        (layer,) = [
            layer
            for layer in manifest["layers"]
            if layer["annotations"]["in-toto.io/predicate-type"] == PROVENANCE
        ]
        statement = json.loads(registry.blob("release", layer["digest"]))
        # mode=max records the build's inputs, among them the revision build argument.
        arguments = statement["predicate"]["invocation"]["parameters"]["args"]
        assert arguments["build-arg:GIT_REVISION"] == release.sha


def index_entry_digest(index: dict, annotations: dict) -> str:
    """The digest of the index entry that carries ANNOTATIONS."""
    return next(e["digest"] for e in index["manifests"] if e.get("annotations") == annotations)


def test_the_signature_and_the_sbom_attestation_are_stored_next_to_the_index(registry, release):
    response = requests.get(
        f"http://{registry.host}/v2/release/dockerapp/tags/list",
        auth=("release", registry.passwords["release"]),
        timeout=10,
    )
    stored = response.json()["tags"]
    prefix = release.digest.replace(":", "-")
    assert f"{prefix}.sig" in stored
    assert f"{prefix}.att" in stored


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_platform_pulls_back_runs_and_reports_the_revision(
    release, platform, docker_cli, pipeline_port
):
    """Pulled by digest from the registry; the arm64 image runs under QEMU on an amd64 host."""
    env = {**os.environ, "DOCKER_CONFIG": str(release.docker_config)}
    docker_cli("image", "rm", f"{release.repository}:{release.sha}", check=False)
    docker_cli("pull", "--quiet", "--platform", platform, release.image, env=env)
    name = f"dockerapp-pipeline-{platform.replace('/', '-')}-{pipeline_port}"
    docker_cli(
        "run", "-d", "--name", name, "--platform", platform,
        "-p", f"127.0.0.1:{pipeline_port}:5000",
        "-e", f"SECRET_KEY={secrets.token_hex(32)}",
        release.image,
    )  # fmt: skip
    try:
        health = wait_for_healthz(
            f"http://127.0.0.1:{pipeline_port}/healthz",
            explain=lambda: docker_cli("logs", name, check=False).stderr[-3000:],
        )
        assert health["status"] == "ok"
        assert health["revision"] == release.sha
        machine = docker_cli("exec", name, "python", "-c", "import os; print(os.uname().machine)")
        assert machine.stdout.strip() == MACHINES[platform]
    finally:
        docker_cli("rm", "-f", name, check=False)


def wait_for_healthz(url: str, explain: Callable[[], str] | None = None) -> dict:
    """The /healthz JSON once gunicorn answers 200 (under QEMU it takes a while; bounded)."""

    def answer() -> requests.Response | None:
        response = requests.get(url, timeout=5)  # an emulated worker answers slowly
        return response if response.status_code == 200 else None

    retry_on = (requests.ConnectionError, requests.Timeout)
    return wait_until(
        answer, 120, f"{url} to answer 200", retry_on=retry_on, explain=explain
    ).json()


def requirement_pins() -> dict:
    """{normalized name: version} of every package requirements.txt pins."""
    text = (REPO_ROOT / "requirements.txt").read_text()
    return {
        normalize(name): version for name, version in re.findall(r"^([\w.-]+)==(\S+)", text, re.M)
    }


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def sbom(release, signing_key):
    """The CycloneDX document attached to the release, as cosign verifies it with the public key."""
    verified = subprocess.run(
        [
            "cosign", "verify-attestation", "--type", "cyclonedx", "--key", str(signing_key.public),
            "--allow-http-registry", "--insecure-ignore-tlog=true", release.image,
        ],
        env={**os.environ, "DOCKER_CONFIG": str(release.docker_config)},
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    (envelope,) = [json.loads(line) for line in verified.stdout.splitlines()]
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["subject"][0]["digest"]["sha256"] == release.digest.removeprefix("sha256:")
    return statement["predicate"]


def packages(sbom: dict, platform: str) -> list:
    (image,) = [
        component
        for component in sbom["components"]
        if {"name": "oci:platform", "value": platform} in component.get("properties", [])
    ]
    return image["components"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_sbom_lists_every_pinned_python_package_at_its_version(sbom, platform):
    listed = {
        normalize(package["name"]): package["version"]
        for package in packages(sbom, platform)
        if package["purl"].startswith("pkg:pypi/")
    }
    assert listed == requirement_pins()
    assert {"flask", "redis", "gunicorn"} <= listed.keys()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_sbom_lists_the_os_packages_of_that_platform(sbom, platform):
    architecture = platform.split("/")[1]
    debian = [p for p in packages(sbom, platform) if p["purl"].startswith("pkg:deb/debian/")]
    libc = [p for p in debian if p["name"] == "libc6"]
    assert libc and libc[0]["purl"].endswith(f"?arch={architecture}")
