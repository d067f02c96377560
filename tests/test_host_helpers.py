"""The helpers every host-side suite and bench/ lean on: ports, the docker CLI, bounded waits.

Pure logic, so `docker` here is a stand-in script on PATH that reports what it was given: what
is under test is the wrapper (arguments, working directory, environment, failure), not Docker.
"""

import itertools
import os
import socket
from pathlib import Path

import pytest

from tests.host_helpers import ROOT, DockerFailed, WaitTimedOut, docker, free_port, wait_until

STAND_IN_DOCKER = """#!/bin/sh
echo "args: $*"
echo "cwd: $PWD"
echo "variable: $HELPER_VARIABLE"
echo "said on stderr" >&2
if [ -n "$READ_STDIN" ]; then read -r line; echo "stdin: $line"; fi
exit "${STAND_IN_EXIT:-0}"
"""


@pytest.fixture
def bound_port():
    """A port something on 127.0.0.1 is bound to, for as long as the test runs."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def test_free_port_passes_over_a_port_in_use(bound_port):
    candidates = [bound_port, *range(20000, 20100)]
    port = free_port(candidates)
    assert port != bound_port and port in candidates
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # really free


def test_free_port_says_how_many_it_tried_when_none_is_free(bound_port):
    with pytest.raises(RuntimeError, match="none of the 1 ports tried is free"):
        free_port([bound_port])


@pytest.fixture
def stand_in_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "docker"
    script.write_text(STAND_IN_DOCKER)
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")


def test_docker_runs_in_the_repository_with_extra_variables(stand_in_docker):
    result = docker("ps", "--all", env={"HELPER_VARIABLE": "given"})
    assert result.stdout.splitlines() == ["args: ps --all", f"cwd: {ROOT}", "variable: given"]
    assert result.stderr == "said on stderr\n"


def test_docker_hands_its_input_to_the_command(stand_in_docker):
    result = docker("login", "--password-stdin", input="secret\n", env={"READ_STDIN": "1"})
    assert result.stdout.splitlines()[-1] == "stdin: secret"


def test_docker_failure_names_the_command_and_shows_its_output(stand_in_docker):
    with pytest.raises(DockerFailed) as failure:
        docker("inspect", "missing", env={"STAND_IN_EXIT": "3"})
    assert "docker inspect missing -> 3" in str(failure.value)
    assert "said on stderr" in str(failure.value)


def test_docker_failure_unchecked_is_returned(stand_in_docker):
    result = docker("inspect", "missing", check=False, env={"STAND_IN_EXIT": "3"})
    assert result.returncode == 3


def test_wait_until_returns_the_first_truthy_value():
    answers = iter([None, 0, "", "ready", "later"])
    assert wait_until(lambda: next(answers), 30, "an answer", interval=0) == "ready"


def test_wait_until_gives_up_naming_what_it_waited_for_and_why():
    with pytest.raises(WaitTimedOut) as gave_up:
        wait_until(lambda: False, 0.2, "the moon", interval=0.05, explain=lambda: "it is day")
    assert "gave up after 0.2 s waiting for the moon" in str(gave_up.value)
    assert "it is day" in str(gave_up.value)


def test_wait_until_retries_the_listed_errors_and_reports_the_last():
    calls = itertools.count(1)

    def refused() -> bool:
        raise ConnectionRefusedError(f"try {next(calls)}")

    with pytest.raises(WaitTimedOut, match=r"the last try raised ConnectionRefusedError\('try"):
        wait_until(refused, 0.2, "a listener", interval=0.05, retry_on=(OSError,))
    assert next(calls) > 2  # retried, not given up at the first error


def test_wait_until_stops_at_once_on_an_error_it_was_not_told_to_retry():
    calls = itertools.count(1)

    def process_died() -> bool:
        next(calls)
        raise AssertionError("the server exited with 1")

    with pytest.raises(AssertionError, match="the server exited with 1"):
        wait_until(process_died, 30, "the server", interval=0, retry_on=(OSError,))
    assert next(calls) == 2  # called once
