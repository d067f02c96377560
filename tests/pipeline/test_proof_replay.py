"""A red `make proof` is reproducible: a failed run's last line gives its seed and the command
that replays it; and a check that did not run to the end is no pass (tests/proof/conftest.py).
Runs the proof suite's own conftest, no engine needed.
"""

import os
import shutil
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


CHECKS_THAT_PROVE_NOTHING = """
import pytest


def test_passes():
    \"\"\"A check that runs and passes\"\"\"


def test_skips():
    \"\"\"A check that skips itself\"\"\"
    pytest.skip("no engine")


def test_gives_up():
    \"\"\"A check that declares its failure expected\"\"\"
    pytest.xfail("known bug")


@pytest.mark.xfail(reason="known bug", strict=False)
def test_passes_though_expected_to_fail():
    \"\"\"A check marked as expected to fail, that passes\"\"\"
"""


def test_a_skipped_or_expected_to_fail_proof_check_fails_the_run_and_says_so(tmp_path):
    # The proof's conftest and its imports, next to checks that skip or give up, in a copy: the
    # conftest applies to the tests beside it.
    proof = tmp_path / "tests" / "proof"
    proof.mkdir(parents=True)
    for module in (REPO_ROOT / "tests" / "proof").glob("*.py"):  # the conftest and its helpers
        if not module.name.startswith("test_"):
            shutil.copy(module, proof)
    for name in ("host_helpers.py", "image_build.py"):
        shutil.copy(REPO_ROOT / "tests" / name, tmp_path / "tests")
    (proof / "test_nothing_proved.py").write_text(CHECKS_THAT_PROVE_NOTHING)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests/proof"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "PROOF_SEED": "7"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| nothing proved: ")]
    assert rows == [
        "| nothing proved: A check that runs and passes | - | pass |",
        "| nothing proved: A check that skips itself | - | SKIP |",
        "| nothing proved: A check that declares its failure expected | - | XFAIL |",
        "| nothing proved: A check marked as expected to fail, that passes | - | XPASS |",
    ]
    assert "3 failed, 1 passed" in result.stdout
    assert result.stdout.strip().splitlines()[-1].endswith("replay: PROOF_SEED=7 make proof")
