"""The rules of the delivery pipeline, read from the CI files themselves (and run, where a step
can run here with stand-ins for `make`, `docker` and `circleci`)."""

import copy
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
# The gates: the make targets .ci/run runs after setting the machine up. A release passes each.
SETUP_TARGETS = {"venv", "openapi-lint-tools", "docker-check", "base-images"}
GATES = [
    target
    for target in re.findall(r"^make (?:-s )?([a-z-]+)$", (REPO_ROOT / ".ci/run").read_text(), re.M)
    if target not in SETUP_TARGETS
]
DIGEST = "sha256:" + "5e" * 32
PINNED_BUILDKIT = re.compile(r"moby/buildkit:v[\d.]+@sha256:[0-9a-f]{64}")


def circleci_commands(job: str, config: dict = CIRCLECI) -> list:
    """The shell commands a CircleCI job runs, in order, with reusable `commands:` expanded."""

    def expand(steps):
        for step in steps:
            name, body = (step, None) if isinstance(step, str) else next(iter(step.items()))
            if name == "run":
                yield body if isinstance(body, str) else body["command"]
            elif name in config.get("commands", {}):
                yield from expand(config["commands"][name]["steps"])

    return list(expand(config["jobs"][job]["steps"]))


def workflow_entries(config: dict = CIRCLECI) -> dict[str, dict]:
    """Job name -> the settings the single CircleCI workflow gives it ({} when it gives none)."""
    (workflow,) = config["workflows"].values()
    return dict(
        (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
        for entry in workflow["jobs"]
    )


def workflow_entry(job: str) -> dict:
    """The settings the single CircleCI workflow gives JOB ({} when it gives none)."""
    entries = workflow_entries()
    assert job in entries, f"{job} is not in the workflow"
    return entries[job]


def runs_gate(commands: list, gate: str) -> bool:
    """Whether one of the commands runs `make GATE` as a line of its own (no other target)."""
    return any(re.search(rf"^make {gate}$", command, re.M) for command in commands)


def circleci_gates_before_publish(config: dict = CIRCLECI) -> set[str]:
    """The gates run by the jobs the publish job requires in the workflow."""
    required = workflow_entries(config)["publish"].get("requires", [])
    return {
        gate
        for job in required
        for gate in GATES
        if runs_gate(circleci_commands(job, config), gate)
    }


def github_gates_before_publish(workflow: dict = GITHUB) -> set[str]:
    """The gates run by the jobs the publish job needs."""
    needs = workflow["jobs"]["publish"].get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    return {
        gate
        for job in needs
        for gate in GATES
        if runs_gate([step.get("run", "") for step in workflow["jobs"][job]["steps"]], gate)
    }


def first(commands: list, pattern: str) -> int:
    """Index of the first command matching PATTERN (a regex)."""
    return next(i for i, command in enumerate(commands) if re.search(pattern, command, re.M))


def github_steps(job: str) -> list:
    return GITHUB["jobs"][job]["steps"]


def github_index(job: str, predicate) -> int:
    return next(i for i, step in enumerate(github_steps(job)) if predicate(step))


def uses(action: str):
    return lambda step: step.get("uses", "").startswith(action + "@")


def runs(pattern: str):
    return lambda step: re.search(pattern, step.get("run", ""), re.M) is not None


def run_step(command: str, cwd=None, **env) -> subprocess.CompletedProcess:
    """Run a CI step's shell command here, as CI runs it (bash -eo pipefail), with only PATH and
    the given variables set."""
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", command],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
    )


def stand_ins(folder: Path, **scripts: str) -> str:
    """A PATH whose first directory holds the given commands as small shell scripts."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/bash\n{body}\n")
        (bin_dir / name).chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


# --- The gates ---


def test_the_gates_are_lint_test_proof_and_swarm_test():
    assert GATES == ["lint", "test", "proof", "swarm-test"]
    assert set(GATES) <= MAKEFILE_TARGETS


def test_swarm_test_checks_the_stack_file_too():
    recipe = re.search(r"^swarm-test:.*\n((?:\t.*\n)+)", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert "tests/deploy/test_stack_file.py" in recipe[1]


def test_ci_run_and_every_hosted_gate_job_install_the_same_host_packages():
    script = ".ci/install-host-packages.sh"
    assert re.search(rf"^bash {re.escape(script)}\b", (REPO_ROOT / ".ci/run").read_text(), re.M)
    for gate in GATES:
        commands = circleci_commands(gate)
        assert first(commands, rf"^sudo bash {re.escape(script)}$") < first(
            commands, f"^make {gate}$"
        )
        assert github_index(gate, runs(rf"^sudo bash {re.escape(script)}$")) < github_index(
            gate, runs(f"^make {gate}$")
        )


# --- CircleCI ---


def test_circleci_publish_requires_every_gate():
    assert circleci_gates_before_publish() == set(GATES)


@pytest.mark.parametrize("gate", GATES)
def test_circleci_publish_without_one_gate_would_be_caught(gate):
    config = copy.deepcopy(CIRCLECI)
    publish = workflow_entries(config)["publish"]
    publish["requires"].remove(gate)
    assert circleci_gates_before_publish(config) == set(GATES) - {gate}


@pytest.mark.parametrize("gate", GATES)
def test_circleci_gates_run_in_parallel_on_every_branch(gate):
    assert runs_gate(circleci_commands(gate), gate)
    assert workflow_entry(gate) == {}  # no `requires`, no branch filter


def test_circleci_publishes_from_the_default_branch_only():
    assert workflow_entry("publish")["filters"] == {"branches": {"only": "main"}}


@pytest.mark.parametrize("job, targets", [("test", ["test"]), ("publish", ["publish", "verify"])])
def test_circleci_jobs_call_the_makefile_targets_people_run(job, targets):
    commands = circleci_commands(job)
    for target in targets:
        assert target in MAKEFILE_TARGETS
        assert any(re.search(rf"^make {target}\b", command, re.M) for command in commands)
    if job == "publish":  # the release is verified as a deploy would verify it
        assert first(commands, r"^make publish\b") < first(commands, r"^make verify\b")


@pytest.mark.parametrize("job, target", [("test", "test"), ("publish", "publish")])
def test_circleci_sets_up_qemu_and_a_multi_platform_builder_first(job, target):
    commands = circleci_commands(job)
    setup = first(commands, r"docker buildx create")
    assert "qemu-user-static" in commands[setup]
    assert "--driver docker-container" in commands[setup]
    assert PINNED_BUILDKIT.search(commands[setup])
    assert setup < first(commands, rf"^make {target}\b")


def test_circleci_only_the_publish_job_mints_a_sigstore_token():
    minting = {
        job
        for job in CIRCLECI["jobs"]
        if any("circleci run oidc" in command for command in circleci_commands(job))
    }
    assert minting == {"publish"}
    mint = next(c for c in circleci_commands("publish") if "circleci run oidc" in c)
    assert """--claims '{"aud": "sigstore"}'""" in mint  # Fulcio accepts no other audience


def test_circleci_publish_signs_keyless(tmp_path):
    """The publish step hands make the minted token, and no key: cosign signs keyless."""
    step = next(c for c in circleci_commands("publish") if "make publish" in c)
    assert "COSIGN_KEY" not in step
    path = stand_ins(
        tmp_path,
        circleci='echo "minted-token"',
        make=f'echo "token=${{SIGSTORE_ID_TOKEN:-}} args=$*"; echo "publish: digest {DIGEST}"',
    )
    result = run_step(step, PATH=path, TMPDIR=str(tmp_path), CIRCLE_SHA1="c" * 40)
    assert result.returncode == 0, result.stderr
    assert "token=minted-token args=publish GIT_SHA=" + "c" * 40 in result.stdout


def test_circleci_verifies_the_digest_publish_printed(tmp_path):
    step = next(c for c in circleci_commands("publish") if "make verify" in c)
    (tmp_path / "publish.log").write_text(f"publish: pushed ...\npublish: digest {DIGEST}\n")
    path = stand_ins(tmp_path, docker="cat >/dev/null", make='echo "make $*"')
    result = run_step(
        step, PATH=path, TMPDIR=str(tmp_path), DOCKER_HUB_USER_ID="someone", DOCKER_HUB_PWD="x"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"make verify IMAGE=docker.io/someone/dockerapp@{DIGEST}"


def test_circleci_logs_in_before_the_tests_pull_base_images():
    commands = circleci_commands("test")
    login = first(commands, "docker login")
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


# --- GitHub Actions ---


def test_github_publish_needs_every_gate():
    assert github_gates_before_publish() == set(GATES)


@pytest.mark.parametrize("gate", GATES)
def test_github_publish_without_one_gate_would_be_caught(gate):
    workflow = copy.deepcopy(GITHUB)
    workflow["jobs"]["publish"]["needs"].remove(gate)
    assert github_gates_before_publish(workflow) == set(GATES) - {gate}


@pytest.mark.parametrize("gate", GATES)
def test_github_gates_run_in_parallel_whenever_the_workflow_runs(gate):
    job = GITHUB["jobs"][gate]
    assert runs_gate([step.get("run", "") for step in job["steps"]], gate)
    assert "needs" not in job and "if" not in job


def test_github_publish_runs_only_for_pushes_to_main_and_the_weekly_rebuild():
    publish = GITHUB["jobs"]["publish"]
    assert publish["if"] == (
        "(github.event_name == 'push' || github.event_name == 'schedule')"
        " && github.ref == 'refs/heads/main'"
    )


def test_github_rebuilds_weekly_and_that_run_publishes_only_after_every_gate():
    # PyYAML reads the bare key `on` as True.
    (entry,) = GITHUB[True]["schedule"]
    minute, hour, day_of_month, month, day_of_week = entry["cron"].split()
    assert (day_of_month, month) == ("*", "*") and re.fullmatch(r"[0-6]", day_of_week), entry
    assert minute.isdigit() and hour.isdigit(), entry
    # The scheduled run is the same workflow: every gate job runs on it (no `if:` skips one).
    assert github_gates_before_publish() == set(GATES)
    for job in GITHUB["jobs"]["publish"]["needs"]:
        assert "if" not in GITHUB["jobs"][job], job


@pytest.mark.parametrize("job, targets", [("test", ["test"]), ("publish", ["publish", "verify"])])
def test_github_jobs_call_the_same_makefile_targets(job, targets):
    for target in targets:
        assert any(runs(rf"^make {target}\b")(step) for step in github_steps(job))
    if job == "publish":
        assert github_index(job, runs(r"^make publish\b")) < github_index(
            job, runs(r"^make verify\b")
        )


def test_only_the_github_publish_job_may_mint_an_oidc_token():
    assert GITHUB["permissions"] == {"contents": "read"}
    granted = {
        name: job.get("permissions", {})
        for name, job in GITHUB["jobs"].items()
        if job.get("permissions", {}).get("id-token") == "write"
    }
    assert list(granted) == ["publish"]
    assert granted["publish"] == {"contents": "read", "id-token": "write"}


@pytest.mark.parametrize("job, target", [("test", "test"), ("publish", "publish")])
def test_github_sets_up_qemu_buildx_and_cosign_before_make(job, target):
    make = github_index(job, runs(rf"^make {target}\b"))
    for action in (
        "docker/setup-qemu-action",
        "docker/setup-buildx-action",
        "sigstore/cosign-installer",
    ):
        assert github_index(job, uses(action)) < make, action
    buildx = github_steps(job)[github_index(job, uses("docker/setup-buildx-action"))]
    assert PINNED_BUILDKIT.search(buildx["with"]["driver-opts"])


def test_github_actions_are_pinned_to_commits_with_their_version_named():
    text = (REPO_ROOT / ".github/workflows/ci.yml").read_text()
    lines = [line for line in text.splitlines() if re.match(r"\s*-? ?uses:", line)]
    assert lines
    for line in lines:
        assert re.search(r"uses: [\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line


def test_github_publish_signs_keyless_and_verifies_the_workflow_identity():
    publish = github_steps("publish")[github_index("publish", runs(r"^make publish\b"))]
    assert "COSIGN_KEY" not in publish.get("env", {})
    verify = github_steps("publish")[github_index("publish", runs(r"^make verify\b"))]
    assert verify["env"]["COSIGN_CERTIFICATE_IDENTITY"] == (
        "${{ github.server_url }}/${{ github.workflow_ref }}"
    )
    assert (
        verify["env"]["COSIGN_CERTIFICATE_OIDC_ISSUER"]
        == "https://token.actions.githubusercontent.com"
    )


def test_github_publish_step_outputs_the_digest_it_printed(tmp_path):
    publish = github_steps("publish")[github_index("publish", runs(r"^make publish\b"))]
    assert publish["shell"] == "bash"  # GitHub's explicit bash adds pipefail: tee hides no failure
    output = tmp_path / "github-output"
    path = stand_ins(tmp_path, make=f'echo "publish: digest {DIGEST}"')
    result = run_step(
        publish["run"], PATH=path, RUNNER_TEMP=str(tmp_path), GITHUB_OUTPUT=str(output)
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"digest={DIGEST}\n"


def test_github_verify_step_checks_that_digest(tmp_path):
    verify = github_steps("publish")[github_index("publish", runs(r"^make verify\b"))]
    assert verify["env"]["DIGEST"] == "${{ steps.publish.outputs.digest }}"
    path = stand_ins(tmp_path, docker="cat >/dev/null", make='echo "make $*"')
    result = run_step(
        verify["run"], PATH=path, DIGEST=DIGEST, DOCKER_HUB_USER_ID="someone", DOCKER_HUB_PWD="x"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"make verify IMAGE=docker.io/someone/dockerapp@{DIGEST}"


def test_github_logs_in_before_the_tests_pull_base_images():
    runs_ = [step.get("run", "") for step in github_steps("test")]
    login = next(i for i, run in enumerate(runs_) if "docker login" in run)
    assert "--password-stdin" in runs_[login]
    assert login < runs_.index("make test")


# --- Both ---

PIPELINE_FILES = (".circleci/config.yml", ".github/workflows/ci.yml", "scripts/publish.sh")


@pytest.mark.parametrize("path", PIPELINE_FILES)
def test_no_legacy_builder_and_no_ca_file_in_the_pipeline(path):
    """BuildKit builds every platform; the CA bundle is a BuildKit secret (EXTRA_CA_CERTS)."""
    text = (REPO_ROOT / path).read_text()
    assert not re.search(r"DOCKER_BUILDKIT\s*=\s*\$?\{?[^}\s]*0", text)  # no legacy builder
    assert "ca-cert" not in text


@pytest.mark.parametrize("missing", ["", "wrk"], ids=["all installed", "one missing"])
def test_host_packages_script_installs_only_what_is_missing(tmp_path, missing):
    """The shared package script, with stand-ins for dpkg-query and apt-get."""
    calls = tmp_path / "apt-get.calls"
    stand_in_commands = {
        # The last argument is the package asked about.
        "dpkg-query": f'[[ "${{@: -1}}" == "{missing}" ]] && exit 1; echo -n install ok installed',
        "apt-get": f'echo "$*" >>{calls}',
    }
    path = stand_ins(tmp_path, **stand_in_commands)
    result = run_step(f"bash {REPO_ROOT}/.ci/install-host-packages.sh extra-package", PATH=path)
    assert result.returncode == 0, result.stderr
    if missing:
        assert calls.read_text().splitlines() == ["update -qq", f"install -y -qq {missing}"]
        assert result.stdout == f"installed: {missing}\n"
    else:
        assert not calls.exists()
