"""The build's extra CA (a BuildKit secret) and its uv cache (a cache mount).

The CA check plants a canary: a throwaway CA certificate appended to the bundle handed to the
build. It must appear in no layer, configuration or history of any stage, nor in an exported
build cache, while the build still works (pip and uv used the bundle to reach PyPI).
"""

import gzip
import re
import secrets
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import BUILD_ARGS, PREFIX, base_images, run

from tests.host_helpers import docker
from tests.image_build import build_command
from tests.image_scan import needles_in_archive

STAGES = ("builder", "runtime", "test", "dev")


@pytest.fixture(scope="module")
def canary_bundle(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """This host's CA bundle plus a throwaway CA; and byte strings that only the canary has."""
    folder = tmp_path_factory.mktemp("ca")
    name = f"dockerapp-canary-{secrets.token_hex(6)}"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-keyout", str(folder / "key.pem"),
         "-out", str(folder / "canary.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    canary = (folder / "canary.pem").read_text()
    # Whole base64 lines of the certificate: any copy of the PEM carries them verbatim.
    body_lines = [line for line in canary.splitlines() if not line.startswith("-----")][1:3]
    bundle = folder / "bundle.pem"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + canary)
    needles = {"the canary's name": name.encode()}
    needles |= {
        f"line {number} of the canary": line.encode() for number, line in enumerate(body_lines)
    }
    return bundle, needles


def build_with_bundle(tag: str, target: str, bundle: Path, *extra: str):
    args = {**BUILD_ARGS, **{k: v for k, v in base_images().items() if k == "PYTHON_IMAGE"}}
    command = build_command(tag, ".", target=target, extra_ca=str(bundle), **args)
    return run(*command[:-1], *extra, command[-1])


@pytest.fixture(scope="module")
def stage_images(canary_bundle, tmp_path_factory):
    """Each stage built with the canary bundle; the builder without cache, so pip and uv ran."""
    bundle, _ = canary_bundle
    cache = tmp_path_factory.mktemp("exported-cache")
    tags = {stage: f"{PREFIX}:ca-{stage}" for stage in STAGES}
    # An exported cache (as CI systems keep between runs) must not carry the secret either.
    build_with_bundle(tags["builder"], "builder", bundle, "--no-cache",
                      f"--cache-to=type=local,dest={cache},mode=max")  # fmt: skip
    for stage in STAGES[1:]:
        build_with_bundle(tags[stage], stage, bundle)
    yield tags, cache
    docker("rmi", *tags.values(), check=False)


@pytest.mark.parametrize("stage", STAGES)
def test_extra_ca_is_in_no_layer_config_or_history_of_any_stage(stage, stage_images, canary_bundle,
                                                                tmp_path):  # fmt: skip
    tags, _ = stage_images
    _, needles = canary_bundle
    archive = tmp_path / "image.tar"
    docker("save", "-o", str(archive), tags[stage])
    found, searched = needles_in_archive(archive, needles)
    assert searched > 10_000_000, "docker save wrote too little to be the image"
    assert found == set()
    history = docker("history", "--no-trunc", "--format", "{{json .}}", tags[stage]).stdout
    inspected = docker("inspect", tags[stage]).stdout
    assert not [name for name, needle in needles.items() if needle.decode() in history + inspected]


def test_extra_ca_is_in_no_exported_build_cache(stage_images, canary_bundle, tmp_path):
    _, cache = stage_images
    _, needles = canary_bundle
    archive = tmp_path / "cache.tar"
    with tarfile.open(archive, "w") as packed:
        packed.add(cache, arcname="cache")
    found, searched = needles_in_archive(archive, needles)
    assert searched > 10_000_000, "the build exported too little cache to be searched"
    assert found == set()


def test_the_planted_canary_would_be_found(canary_bundle, tmp_path):
    # The searches above are only worth something if they find the canary where it is: here,
    # inside a gzip-compressed blob of a tar archive, as docker save and the cache export write.
    bundle, needles = canary_bundle
    (tmp_path / "blob").write_bytes(gzip.compress(bundle.read_bytes()))
    with tarfile.open(tmp_path / "archive.tar", "w") as archive:
        archive.add(tmp_path / "blob", arcname="blobs/sha256/0123")
    found, _ = needles_in_archive(tmp_path / "archive.tar", needles)
    # A PEM copy carries the base64 lines; the name shows only where the DER is decoded.
    lines = {name for name in needles if name.startswith("line ")}
    assert found == {f"{name} (in blobs/sha256/0123)" for name in lines}


def test_a_changed_requirement_downloads_nothing_already_in_the_uv_cache(scratch_context):
    tag = f"{PREFIX}:uv-cache"
    args = {k: v for k, v in base_images().items() if k == "PYTHON_IMAGE"}
    # The test-packages stage builds on the builder: both installs, the venv's and the tests'.
    command = build_command(tag, scratch_context, target="test-packages", **args)
    command[command.index("--quiet")] = "--progress=plain"
    try:
        for _ in range(2):
            with (scratch_context / "requirements.txt").open("a") as requirements:
                # A new comment each time, so BuildKit has no cached result for this exact file:
                # the venv's install runs, and the test packages' install after it. The first
                # build fills the cache mount (a build served from layer cache would not).
                requirements.write(f"# changed ({secrets.token_hex(4)}): the installs run\n")
            log = run(*command).stderr
        # uv says "Prepared N packages" only for wheels it had to fetch (or unpack) into its
        # cache; "Installed N packages" shows that each of the two installs did run.
        installs = re.findall(r"Installed (\d+) packages", log)
        assert len(installs) == 2 and min(int(n) for n in installs) >= 2, log[-3000:]
        assert "Prepared" not in log, log[-3000:]
    finally:
        docker("rmi", tag, check=False)
