"""The task entry point people and CI share: the Makefile, and .ci/run that drives it."""

import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CI_RUN = (ROOT / ".ci" / "run").read_text()


def test_every_makefile_variable_is_defined_once():
    makefile = (ROOT / "Makefile").read_text()
    definitions = re.findall(r"^([A-Z][A-Z0-9_]*)\s*(?::=|\?=|\+=|=)", makefile, re.MULTILINE)
    assert definitions, "found no variable definitions: the pattern is wrong"
    assert [name for name, count in Counter(definitions).items() if count > 1] == []


def test_ci_run_stops_on_the_first_failing_command():
    assert "set -euo pipefail" in CI_RUN


def test_ci_run_keeps_the_status_of_commands_it_captures():
    # `eval "$(cmd)"` or `export X="$(cmd)"` runs cmd in a substitution whose status is lost,
    # so a failed step surfaced later as an unrelated "unbound variable". A plain assignment
    # (`x=$(cmd)`) keeps it, and set -e stops right there with the step's own error.
    assert "eval " not in CI_RUN
    for line in CI_RUN.splitlines():
        code = line.split(" #", 1)[0].strip()
        if "$(make" in code:
            assert re.fullmatch(r"[a-z_]+=\$\([^()]*\)", code), code
        assert not re.match(r"(export|local|readonly)\s+\w+=.*\$\(", code), code


def test_ci_run_runs_the_readme_test_command_through_make():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose run --rm dockerapp python test.py" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert "docker compose run --rm dockerapp python test.py" in makefile
    for target in ("make lint", "make test", "make proof", "make swarm-test"):
        assert re.search(rf"^{target}$", CI_RUN, re.MULTILINE), target


def test_ci_run_refuses_an_old_engine_rather_than_falling_back():
    assert not re.search(r"DOCKER_BUILDKIT\s*=\s*\$?\{?[^}\s]*0", CI_RUN)  # no legacy builder
    assert re.search(r"-ge 28 \]\] \|\| fail", CI_RUN)
    assert "containerd-snapshotter" in CI_RUN
