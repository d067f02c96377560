"""The rules of the delivery pipeline, read from the CI files themselves."""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CIRCLECI = yaml.safe_load((REPO_ROOT / ".circleci/config.yml").read_text())
GITHUB = yaml.safe_load((REPO_ROOT / ".github/workflows/ci.yml").read_text())
MAKEFILE_TARGETS = set(
    re.findall(r"^([a-z-]+):", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
)


def circleci_commands(job: str) -> list:
    """The shell commands a CircleCI job runs, in order, with reusable `commands:` expanded."""

    def expand(steps):
        for step in steps:
            name, body = (step, None) if isinstance(step, str) else next(iter(step.items()))
            if name == "run":
                yield body if isinstance(body, str) else body["command"]
            elif name in CIRCLECI.get("commands", {}):
                yield from expand(CIRCLECI["commands"][name]["steps"])

    return list(expand(CIRCLECI["jobs"][job]["steps"]))


def workflow_entry(job: str) -> dict:
    """The settings the single CircleCI workflow gives JOB ({} when it gives none)."""
    (workflow,) = CIRCLECI["workflows"].values()
    for entry in workflow["jobs"]:
        name, settings = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        if name == job:
            return settings
    raise AssertionError(f"{job} is not in the workflow")


def run_step(command: str, **env) -> subprocess.CompletedProcess:
    """Run a CI step's shell command here, with only PATH and the given variables set."""
    return subprocess.run(
        ["bash", "-c", command],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )


def test_circleci_publish_requires_the_test_job():
    assert workflow_entry("publish")["requires"] == ["test"]


def test_circleci_publishes_from_the_default_branch_only():
    assert workflow_entry("publish")["filters"] == {"branches": {"only": "main"}}
    assert "filters" not in workflow_entry("test")  # every branch is tested


@pytest.mark.parametrize("job, target", [("test", "test"), ("publish", "publish")])
def test_circleci_jobs_call_the_makefile_targets_people_run(job, target):
    assert target in MAKEFILE_TARGETS
    assert any(re.match(rf"make {target}\b", command) for command in circleci_commands(job))


def test_circleci_logs_in_before_the_tests_pull_base_images():
    commands = circleci_commands("test")
    login = next(i for i, command in enumerate(commands) if "docker login" in command)
    assert "--password-stdin" in commands[login]
    assert login < commands.index("make test")


def test_circleci_test_job_pulls_anonymously_without_credentials():
    login = next(command for command in circleci_commands("test") if "docker login" in command)
    result = run_step(login)
    assert result.returncode == 0
    assert "pulling anonymously" in result.stdout


def test_circleci_publish_job_refuses_a_forked_pull_request():
    guard = next(
        command for command in circleci_commands("publish") if "CIRCLE_PR_REPONAME" in command
    )
    assert (
        run_step(guard, CIRCLE_PR_REPONAME="dockerapp", CIRCLE_PR_USERNAME="someone").returncode
        != 0
    )
    assert run_step(guard).returncode == 0


def test_circleci_machine_image_is_pinned_to_a_dated_release():
    (executor,) = CIRCLECI["executors"].values()
    assert re.fullmatch(r"ubuntu-\d{4}:\d{4}\.\d{2}\.\d+", executor["machine"]["image"])


def test_github_publish_needs_test_and_runs_only_for_pushes_to_main():
    publish = GITHUB["jobs"]["publish"]
    assert publish["needs"] == "test"
    assert publish["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"


@pytest.mark.parametrize("job, target", [("test", "test"), ("publish", "publish")])
def test_github_jobs_call_the_same_makefile_targets(job, target):
    assert any(
        step.get("run", "").startswith(f"make {target}") for step in GITHUB["jobs"][job]["steps"]
    )


def test_github_actions_are_pinned_to_commits():
    uses = [
        step["uses"] for job in GITHUB["jobs"].values() for step in job["steps"] if "uses" in step
    ]
    assert uses
    assert all(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", action) for action in uses)


def test_github_logs_in_before_the_tests_pull_base_images():
    runs = [step.get("run", "") for step in GITHUB["jobs"]["test"]["steps"]]
    login = next(i for i, run in enumerate(runs) if "docker login" in run)
    assert "--password-stdin" in runs[login]
    assert login < runs.index("make test")
