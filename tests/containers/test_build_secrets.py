"""The build's extra CA (a BuildKit secret) and its pip cache (a cache mount).

The CA check plants a canary: a throwaway CA certificate appended to the bundle handed to the
build. It must appear in no layer, configuration or history of any stage, nor in an exported
build cache, while the build still works (pip used the bundle to reach PyPI).
"""

import gzip
import json
import secrets
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import BUILD_ARGS, PREFIX, base_images, docker, run

from tests.image_build import build_command

STAGES = ("builder", "runtime", "test", "dev")


@pytest.fixture(scope="module")
def canary_bundle(tmp_path_factory) -> tuple[Path, list[bytes]]:
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
    body = "".join(line for line in canary.splitlines() if not line.startswith("-----"))
    bundle = folder / "bundle.pem"
    bundle.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text() + canary)
    return bundle, [name.encode(), body[20:80].encode()]


def build_with_bundle(tag: str, target: str, bundle: Path, *extra: str):
    args = {**BUILD_ARGS, **{k: v for k, v in base_images().items() if k == "PYTHON_IMAGE"}}
    command = build_command(tag, ".", target=target, extra_ca=str(bundle), **args)
    return run(*command[:-1], *extra, command[-1])


def blobs_containing(folder: Path, needles: list[bytes]) -> list[str]:
    """Files under `folder` (gzip-compressed ones unpacked) whose bytes contain a needle."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        if any(needle in data for needle in needles):
            found.append(str(path.relative_to(folder)))
    return found


@pytest.fixture(scope="module")
def stage_images(canary_bundle, tmp_path_factory):
    """Each stage built with the canary bundle; the builder without cache, so pip really ran."""
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
    with tarfile.open(archive) as saved:
        saved.extractall(tmp_path / "image", filter="data")
    assert list((tmp_path / "image").rglob("*")), "docker save wrote nothing to search"
    assert blobs_containing(tmp_path / "image", needles) == []
    history = docker("history", "--no-trunc", "--format", "{{json .}}", tags[stage]).stdout
    assert not any(needle.decode() in history for needle in needles)
    assert not any(needle.decode() in json.dumps(docker("inspect", tags[stage]).stdout)
                   for needle in needles)  # fmt: skip


def test_extra_ca_is_in_no_exported_build_cache(stage_images, canary_bundle):
    _, cache = stage_images
    _, needles = canary_bundle
    assert list(cache.rglob("blobs/sha256/*")), "the build exported no cache to search"
    assert blobs_containing(cache, needles) == []


def test_the_planted_canary_would_be_found(canary_bundle, tmp_path):
    # The search above is only worth something if it finds the canary where it is.
    bundle, needles = canary_bundle
    compressed = tmp_path / "layer.tar.gz"
    compressed.write_bytes(gzip.compress(bundle.read_bytes()))
    assert blobs_containing(tmp_path, needles) == ["layer.tar.gz"]


def test_a_changed_requirement_downloads_nothing_already_in_the_pip_cache(scratch_context):
    tag = f"{PREFIX}:pip-cache"
    args = {k: v for k, v in base_images().items() if k == "PYTHON_IMAGE"}
    command = build_command(tag, scratch_context, target="builder", **args)
    command[command.index("--quiet")] = "--progress=plain"
    try:
        run(*command)  # fills the cache mount, if an earlier build has not
        with (scratch_context / "requirements-dev.txt").open("a") as requirements:
            requirements.write("# changed: the install step runs again\n")
        log = run(*command).stderr
        pip_lines = [line for line in log.splitlines() if "Using cached" in line]
        assert pip_lines, log[-3000:]  # the install step ran, and took its files from the cache
        assert not [line for line in log.splitlines() if " Downloading " in line], log[-3000:]
    finally:
        docker("rmi", tag, check=False)
