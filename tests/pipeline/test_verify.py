"""`make verify` passes on the release and fails, naming the check, on what must not be deployed.

Each bad image is made the way an attacker or an accident would make it, in a repository of its
own so the release stays untouched: an unsigned index pushed over a verified tag, the release
signed with someone else's key, a release published for one platform only.
"""

import json
import os
import subprocess

import pytest

from tests.pipeline.conftest import REPO_ROOT

CHECKS = ("signature", "platforms", "revision", "provenance", "sbom")
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"


def tool(*command: str, docker_config, **env: str) -> subprocess.CompletedProcess:
    """Run cosign or docker with a registry login; fail the test with its message if it fails."""
    result = subprocess.run(
        command,
        env={**os.environ, "DOCKER_CONFIG": str(docker_config), **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{' '.join(command[:3])}: {result.stderr[-2000:]}"
    return result


def passed(result) -> set:
    return {check for check in CHECKS if f"verify: ok     {check}:" in result.stdout}


def failed(result) -> set:
    return {check for check in CHECKS if f"verify: FAILED {check}:" in result.stdout}


def copy_index(tag: str, *sources: str, docker_config, annotation: str = "") -> None:
    """`docker buildx imagetools create`: an index of SOURCES under TAG, made in the registry.

    Into a repository that lacks them, buildx (and cosign copy alike) sometimes puts a manifest
    before the manifests or blobs it names have landed, and Distribution 2.8 answers "blob
    unknown to registry"; a second try finds them there.
    """
    command = ["docker", "buildx", "imagetools", "create", "--tag", tag]
    command += ["--annotation", annotation] if annotation else []
    for _ in range(3):
        result = subprocess.run(
            [*command, *sources],
            env={**os.environ, "DOCKER_CONFIG": str(docker_config)},
            capture_output=True,
            text=True,
        )
        if result.returncode == 0 or "blob unknown to registry" not in result.stderr:
            break
    assert result.returncode == 0, f"imagetools create: {result.stderr[-2000:]}"


def copy_attachments(source: str, tag: str, kinds: str, *, docker_config) -> None:
    """`cosign copy --only=KINDS`: the source's signature and/or SBOM, next to a copy of it.

    Run after copy_index: with the images already there, nothing races.
    """
    command = ["cosign", "copy", f"--only={kinds}", "--allow-http-registry", source, tag]
    tool(*command, docker_config=docker_config)


def sign_and_attest(image: str, sbom_path, key, docker_config) -> None:
    """What publish.sh does after the build: sign the index, attach an SBOM, with KEY."""
    for command in (
        ["cosign", "sign"],
        ["cosign", "attest", "--type", "cyclonedx", "--predicate", str(sbom_path)],
    ):
        tool(
            *command, "--yes", "--key", str(key.private), "--allow-http-registry",
            "--tlog-upload=false", image,
            docker_config=docker_config, COSIGN_PASSWORD=key.password,
        )  # fmt: skip


@pytest.mark.parametrize("by", ["digest", "sha tag"])
def test_the_release_passes_every_check(release, signing_key, verify, by):
    image = release.image if by == "digest" else f"{release.repository}:{release.sha}"
    result = verify(image, signing_key.trust(), release.docker_config)
    assert result.returncode == 0, result.stdout
    assert passed(result) == set(CHECKS)
    assert f"verify: {release.image} passed every check" in result.stdout


def test_a_public_key_given_as_a_path_works_too(release, signing_key, verify):
    result = verify(
        release.image, {"COSIGN_PUBLIC_KEY": str(signing_key.public)}, release.docker_config
    )
    assert result.returncode == 0, result.stdout


def test_an_unsigned_image_pushed_to_a_verified_tag_fails_on_its_signature(
    registry, release, signing_key, verify, tmp_path
):
    registry.login("unsigned", tmp_path)
    tag = f"{registry.repository('unsigned')}:{release.sha}"
    # The release with its signature and SBOM, copied: the tag verifies...
    copy_index(tag, release.image, docker_config=tmp_path)
    copy_attachments(release.image, tag, "sig,att", docker_config=tmp_path)
    assert verify(tag, signing_key.trust(), tmp_path).returncode == 0
    # ...until someone with push rights puts an unsigned index (same images) under it.
    copy_index(
        tag,
        release.image,
        docker_config=tmp_path,
        annotation="index:org.opencontainers.image.description=pushed without signing",
    )
    result = verify(tag, signing_key.trust(), tmp_path)
    assert result.returncode != 0
    assert "signature" in failed(result)
    assert "no signatures found" in result.stdout
    assert {"platforms", "revision"} <= passed(result)  # the images are the release's own


def test_a_signature_made_with_another_key_fails(
    registry, release, signing_key, other_key, verify, tmp_path
):
    registry.login("otherkey", tmp_path)
    tag = f"{registry.repository('otherkey')}:{release.sha}"
    copy_index(tag, release.image, docker_config=tmp_path)
    image = f"{registry.repository('otherkey')}@{release.digest}"  # the very same index
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text(tool("python3", "scripts/sbom.py", image, docker_config=tmp_path).stdout)
    sign_and_attest(image, sbom, other_key, tmp_path)
    result = verify(tag, signing_key.trust(), tmp_path)
    assert result.returncode != 0
    assert failed(result) == {"signature", "sbom"}
    assert (
        "no signature of" in result.stdout
        and "verifies with the key in COSIGN_PUBLIC_KEY" in result.stdout
    )
    # Everything else is in order: whoever trusts the other key would accept it.
    assert verify(tag, other_key.trust(), tmp_path).returncode == 0


def test_an_index_without_provenance_fails_on_it(registry, release, signing_key, verify, tmp_path):
    registry.login("noprovenance", tmp_path)
    _, index = registry.manifest("release", release.digest)
    images = [
        f"{release.repository}@{e['digest']}"
        for e in index["manifests"]
        if e["platform"]["os"] != "unknown"
    ]
    tag = f"{registry.repository('noprovenance')}:{release.sha}"
    # The same two images in a new index, without BuildKit's attestation manifests.
    copy_index(tag, *images, docker_config=tmp_path)
    digest, _ = registry.manifest("noprovenance", release.sha)
    image = f"{registry.repository('noprovenance')}@{digest}"
    sbom = tmp_path / "sbom.cdx.json"
    sbom.write_text(tool("python3", "scripts/sbom.py", image, docker_config=tmp_path).stdout)
    sign_and_attest(image, sbom, signing_key, tmp_path)
    result = verify(tag, signing_key.trust(), tmp_path)
    assert result.returncode != 0
    assert failed(result) == {"provenance"}
    assert "no provenance attestation for linux/amd64 linux/arm64" in result.stdout


def test_an_sbom_that_contradicts_the_pins_fails(registry, release, signing_key, verify, tmp_path):
    """Signed by the right key, but listing another flask than requirements.txt pins."""
    registry.login("badsbom", tmp_path)
    tag = f"{registry.repository('badsbom')}:{release.sha}"
    copy_index(tag, release.image, docker_config=tmp_path)
    copy_attachments(release.image, tag, "sig", docker_config=tmp_path)
    image = f"{registry.repository('badsbom')}@{release.digest}"
    bom = json.loads(tool("python3", "scripts/sbom.py", image, docker_config=tmp_path).stdout)
    for package in bom["components"][0]["components"]:
        if package["purl"].startswith("pkg:pypi/flask@"):
            package["version"], package["purl"] = "0.12.0", "pkg:pypi/flask@0.12.0"
    doctored = tmp_path / "sbom.cdx.json"
    doctored.write_text(json.dumps(bom))
    tool(
        "cosign", "attest", "--yes", "--key", str(signing_key.private), "--allow-http-registry",
        "--tlog-upload=false", "--type", "cyclonedx", "--predicate", str(doctored), image,
        docker_config=tmp_path, COSIGN_PASSWORD=signing_key.password,
    )  # fmt: skip
    result = verify(tag, signing_key.trust(), tmp_path)
    assert result.returncode != 0
    assert failed(result) == {"sbom"}
    platform = bom["components"][0]["properties"][0]["value"]
    assert f"{platform} flask 0.12.0 (pinned " in result.stdout


@pytest.fixture(scope="module")
def one_platform_release(registry, signing_key, publish, tmp_path_factory):
    """The same commit published for linux/amd64 only, signed with the project's key."""
    docker_config = tmp_path_factory.mktemp("one-platform")
    result = publish(
        {
            **registry.credentials("oneplatform"),
            **signing_key.signing(),
            "PLATFORMS": "linux/amd64",
        },
        docker_config,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    registry.login("oneplatform", docker_config)
    digest = result.stdout.rsplit("publish: digest ", 1)[1].strip()
    return f"{registry.repository('oneplatform')}@{digest}", docker_config


def test_an_index_missing_a_platform_fails_naming_it(one_platform_release, signing_key, verify):
    image, docker_config = one_platform_release
    result = verify(image, signing_key.trust(), docker_config)
    assert result.returncode != 0
    assert failed(result) == {"platforms"}
    assert (
        "verify: FAILED platforms: linux/arm64 missing: the index has only linux/amd64"
        in result.stdout
    )


def test_the_platforms_to_require_are_a_setting(one_platform_release, signing_key, verify):
    image, docker_config = one_platform_release
    result = verify(image, {**signing_key.trust(), "PLATFORMS": "linux/amd64"}, docker_config)
    assert result.returncode == 0, result.stdout


def test_an_image_of_another_commit_than_expected_fails_on_the_revision(
    release, signing_key, verify
):
    result = verify(
        release.image, {**signing_key.trust(), "GIT_SHA": OTHER_SHA}, release.docker_config
    )
    assert result.returncode != 0
    assert failed(result) == {"revision", "sbom"}  # the SBOM check reads that commit's pins
    assert f"is not {OTHER_SHA} on linux/amd64=" in result.stdout


def test_verify_refuses_to_run_without_being_told_whom_to_trust(release, verify):
    result = verify(release.image, {}, release.docker_config)
    assert result.returncode != 0
    assert "say whom to trust: COSIGN_PUBLIC_KEY, or COSIGN_CERTIFICATE_IDENTITY" in result.stdout


def test_verify_names_an_image_it_cannot_read(registry, release, signing_key, verify):
    result = verify(f"{release.repository}:no-such-tag", signing_key.trust(), release.docker_config)
    assert result.returncode != 0
    assert (
        f"verify: cannot read {release.repository}:no-such-tag from {registry.host}"
        in result.stdout
    )


def test_make_verify_needs_an_image(signing_key):
    result = subprocess.run(
        ["make", "--no-print-directory", "verify"],
        cwd=REPO_ROOT,
        env={**os.environ, **signing_key.trust()},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "make verify IMAGE=REPOSITORY@sha256:DIGEST" in result.stderr
