"""`make docker-check`: one line naming what is too old, before anything fails obscurely.

The engine, buildx and Compose are stood in for by a small `docker` script that reports the
versions a test chooses: the diagnosis is pure logic over those versions. The last test runs
it against the real engine.
"""

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

STUB = """#!/bin/sh
case "$1 $2" in
  "version --format") [ -n "$ENGINE" ] && echo "$ENGINE" || exit 1 ;;
  "buildx version") [ -n "$BUILDX" ] && echo "github.com/docker/buildx $BUILDX" || exit 1 ;;
  "compose version") [ -n "$COMPOSE" ] && echo "$COMPOSE" || exit 1 ;;
  *) exit 1 ;;
esac
"""


def check(tmp_path: Path, **versions: str) -> subprocess.CompletedProcess:
    (tmp_path / "docker").write_text(STUB)
    (tmp_path / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:/usr/bin:/bin", **versions}
    return subprocess.run(["bash", str(ROOT / "scripts" / "check-docker.sh")], env=env,
                          capture_output=True, text=True)  # fmt: skip


CURRENT = {"ENGINE": "28.5.2", "BUILDX": "0.29.1", "COMPOSE": "2.40.3"}


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ({**CURRENT, "ENGINE": "20.10.24"}, "Docker Engine 20.10.24 is too old: 25 or newer"),
        ({**CURRENT, "ENGINE": ""}, "no Docker engine answers"),
        ({**CURRENT, "BUILDX": ""}, "the docker-buildx plugin is missing"),
        ({**CURRENT, "COMPOSE": "2.20.2"}, "Docker Compose 2.20.2 is too old: 2.22 or newer"),
        ({**CURRENT, "COMPOSE": ""}, "the Docker Compose plugin is missing"),
    ],
)
def test_a_missing_or_old_part_is_named_in_one_line(tmp_path, versions, message):
    result = check(tmp_path, **versions)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert message in result.stderr


@pytest.mark.parametrize("engine", ["25.0.0", "28.5.2+dfsg4", "29.1.0"])
def test_current_versions_pass(tmp_path, engine):
    assert check(tmp_path, **{**CURRENT, "ENGINE": engine}).returncode == 0


def test_this_machines_docker_passes():
    result = subprocess.run(
        ["make", "-s", "docker-check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
