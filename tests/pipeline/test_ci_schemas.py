"""The CI files validate offline against their published schemas, and broken copies do not."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CASES = {
    # file, schema, (a correct key, the same key misspelled)
    "circleci": (".circleci/config.yml", "vendor.circle-ci", ("command:", "comand:")),
    "github": (".github/workflows/ci.yml", "vendor.github-workflows", ("runs-on:", "runs_on:")),
    # A Renovate schema error is a wrong value: its schema accepts unknown keys.
    "renovate": (
        "renovate.json",
        "vendor.renovate",
        ('"customType": "regex"', '"customType": "regx"'),
    ),
}


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess:
    """check-jsonschema with its bundled copy of the schema: no network needed."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("case", CASES)
def test_ci_file_matches_its_schema(case):
    path, schema, _ = CASES[case]
    result = check_jsonschema(schema, REPO_ROOT / path)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASES)
def test_ci_file_with_a_misspelled_key_fails_its_schema(case, tmp_path):
    path, schema, (key, misspelled) = CASES[case]
    text = (REPO_ROOT / path).read_text()
    assert key in text
    broken = tmp_path / Path(path).name
    broken.write_text(text.replace(key, misspelled, 1))
    result = check_jsonschema(schema, broken)
    assert result.returncode == 1, result.stdout + result.stderr
