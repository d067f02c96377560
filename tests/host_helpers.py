"""What the host-side suites and bench/ share: a free port, the docker CLI, a bounded wait.

Imported one way everywhere, `from tests.host_helpers import ...`, with the repository on
sys.path (pytest's `pythonpath`, `python -m tests.swarm...` from the repository, and bench/'s
scripts add it themselves). Standard library only: `make bench` runs bench/ with the host's
python3, outside the venv. tests/app/ does not use it: the image copies only tests/app/.
"""

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def free_port(candidates: Iterable[int]) -> int:
    """The first of `candidates` that nothing on 127.0.0.1 is bound to."""
    tried = 0
    for port in candidates:
        tried += 1
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"none of the {tried} ports tried is free on 127.0.0.1")


class DockerFailed(AssertionError):
    """A docker command that exited non-zero. An AssertionError, so that pytest reports it as
    the failed check it is; bench/ catches it by this name."""


def docker(
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI in the repository, its output captured as text.

    `env` adds to this process's environment; `timeout` bounds the command (a hung engine
    fails the caller instead of stalling it). With `check`, a non-zero exit raises DockerFailed
    with the command and the end of its output.
    """
    result = subprocess.run(
        ["docker", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        said = f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}".strip()
        raise DockerFailed(f"docker {' '.join(args)} -> {result.returncode}\n{said}")
    return result


class WaitTimedOut(AssertionError):
    """A condition that did not come true in time (an AssertionError, as DockerFailed is)."""


def wait_until(
    condition: Callable[[], T],
    seconds: float,
    what: str,
    *,
    interval: float = 0.5,
    retry_on: tuple[type[BaseException], ...] = (),
    explain: Callable[[], str] | None = None,
) -> T:
    """Call `condition` every `interval` s until it returns something truthy, and return that.

    An exception of a `retry_on` type means "not yet"; any other ends the wait at once (a
    condition raises one to say waiting is pointless, e.g. the awaited process died). After
    `seconds`, raise WaitTimedOut naming `what`, the last retried error, and `explain()`.
    """
    deadline = time.monotonic() + seconds
    while True:
        last_error = ""
        try:
            value = condition()
        except retry_on as error:
            last_error = f"; the last try raised {error!r}"
        else:
            if value:
                return value
        if time.monotonic() > deadline:
            detail = f"\n{explain()}" if explain else ""
            said = f"gave up after {seconds:g} s waiting for {what}{last_error}{detail}"
            raise WaitTimedOut(said)
        time.sleep(interval)
