"""A red `make proof` is reproducible: a failed run's last line gives its seed and the command
that replays it (tests/proof/conftest.py). Runs the proof suite's own conftest, no engine needed.
"""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def proof_run(*args: str, **environ: str) -> subprocess.CompletedProcess:
    """pytest on tests/proof with `args`, its output captured."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/proof", *args]
    env = {**os.environ, **environ}
    return subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_failed_proof_run_ends_with_its_seed_and_the_replay_command():
    # No engine answers at this address, so building the proof image fails: a red run.
    result = proof_run(
        "-k", "schemathesis", PROOF_SEED="644885237", DOCKER_HOST="unix:///nonexistent.sock"
    )
    assert result.returncode == 1, result.stdout[-3000:]
    last_line = result.stdout.strip().splitlines()[-1]
    assert last_line.endswith("replay: PROOF_SEED=644885237 make proof"), last_line


def test_a_run_that_does_not_fail_prints_no_replay_line():
    result = proof_run("--collect-only", "-q", PROOF_SEED="1")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "replay:" not in result.stdout


def test_a_proof_seed_that_is_not_a_number_is_refused_in_one_line():
    result = proof_run("--collect-only", "-q", PROOF_SEED="abc")
    assert result.returncode == 4  # pytest's usage error
    assert "PROOF_SEED='abc' must be a whole number" in result.stderr
