"""`make swarm-test`: deploy stack.yml on a 3-node swarm in docker-in-docker and check it for real.

From nothing: builds the node, registry and app images, starts three Docker engines in containers
(one manager, two workers) and a registry on a private network, pushes the images there,
deploys the stack with the test-only override, runs the checks, prints a summary table and tears
everything down, also on failure or Ctrl-C. Exit status 1 if any check fails.

Traffic goes only to containers this program starts (cluster.py has the swarm itself). Base
images come from DEBIAN_IMAGE, PYTHON_IMAGE and REDIS_IMAGE (default: the local stand-ins when
`make base-images` built them, else the official images). docs/swarm.md explains the design
and the figures.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from tests.swarm.cluster import (
    APP_URL,
    BENCH_KEY,
    DATA_KEY,
    DATA_VALUE,
    HERE,
    MANAGER,
    NODES,
    PULL_FROM,
    SERVICE,
    STACK,
    VERSIONS,
    build_images,
    converged,
    copy_stack_files,
    deploy,
    healthy_containers,
    on_manager,
    push_images,
    run,
    running_tasks,
    start_swarm,
    step,
    teardown,
    update_state,
    wait_for,
)


@dataclass
class Check:
    name: str
    figure: str
    passed: bool


results: list[Check] = []


def record(name: str, figure: str, passed: bool) -> None:
    results.append(Check(name, figure, passed))
    print(f"  {'PASS' if passed else 'FAIL'}  {name}: {figure}", flush=True)


# ---------------------------------------------------------------- the service's client
CLIENT = "dockerapp-swarm-client"  # a container inside the manager node


def start_client() -> None:
    """One long-lived container on the manager, attached to the stack's front network.

    It keeps the manager in that overlay network for the whole test. A container started per
    request would let the network leave the manager whenever no task of it runs there, and on
    rejoining, the manager's DNS can list removed tasks for many seconds.
    """
    on_manager(
        "run", "-d", f"--name={CLIENT}", f"--network={STACK}_front", "--no-healthcheck",
        f"{PULL_FROM}/dockerapp:v1", "sleep", "infinity",
    )  # fmt: skip


def client_command(*arguments: str) -> list[str]:
    """load_client.py, run in the client container."""
    script = (HERE / "load_client.py").read_text()
    return [
        "docker", "exec", "-i", MANAGER, "docker", "exec", "-i", CLIENT,
        "python", "-c", script, *arguments,
    ]  # fmt: skip


def client(*arguments: str) -> dict:
    return json.loads(run(*client_command(*arguments)).splitlines()[-1])


class SteadyLoad:
    """A bounded, paced load that runs while the test changes the service (a context manager)."""

    def __init__(self, rate: int = 40, max_seconds: int = 240) -> None:
        urls = [f"{APP_URL}/healthz", f"{APP_URL}/api/v1/keys/{BENCH_KEY}"]
        arguments = ["steady", *urls, f"--rate={rate}", f"--max-seconds={max_seconds}"]
        self.command = client_command(*arguments)
        self.summary: dict = {}

    def __enter__(self) -> "SteadyLoad":
        self.process = subprocess.Popen(
            self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for line in self.process.stderr:
            if line.strip() == "started":
                return self
        raise RuntimeError(f"the load client did not start: {self.process.wait()}")

    def __exit__(self, *exc_info) -> None:
        output, _ = self.process.communicate("stop\n", timeout=60)
        self.summary = json.loads(output.splitlines()[-1])


# ---------------------------------------------------------------- the checks
def describe_load(summary: dict) -> str:
    """The steady load's figures: failures (and of which kind), requests, slowest answer."""
    kinds = ", ".join(f"{count} x {kind}" for kind, count in summary["failure_kinds"].items())
    for seconds, error in summary["first_failures"]:  # the details, for the log only
        print(f"    failed at {seconds} s: {error[:300]}", flush=True)
    return (
        f"{summary['failures']} failed{f' ({kinds})' if kinds else ''} of {summary['requests']} "
        f"in {summary['seconds']} s; slowest answer {summary['slowest_seconds']} s"
    )


def check_deploy() -> None:
    step("deploy v1 (3 replicas) and wait for every replica to be healthy")
    deploy("v1")
    seconds = wait_for(lambda: converged(3, "v1") and healthy_containers() == 3, 180)
    start_client()
    nodes = sorted({task["node"][-1] for task in running_tasks()})
    record(
        "deploy: 3 replicas healthy",
        f"in {seconds} s on nodes {','.join(nodes)}" if seconds else "not within 180 s",
        seconds is not None,
    )
    ready = wait_for(lambda: client("get", f"{APP_URL}/readyz")["status"] == 200, 60)
    record("app reaches Redis (/readyz 200)", f"after {ready} s", ready is not None)
    client("put", f"{APP_URL}/api/v1/keys/{BENCH_KEY}", "benchmark value")
    spread = client("spread", f"{APP_URL}/healthz", "30")
    record(
        "pages served by different replicas",
        f"{len(spread['hostnames'])} hostnames in 30 requests, {spread['failures']} failed",
        len(spread["hostnames"]) == 3 and spread["failures"] == 0,
    )


def benchmark() -> None:
    step("benchmark: requests/s through the service with 1, then 3 replicas")
    url = f"{APP_URL}/api/v1/keys/{BENCH_KEY}"
    for replicas in (1, 3):
        on_manager("service", "scale", "--detach=true", f"{SERVICE}={replicas}")
        settled = wait_for(
            lambda replicas=replicas: (
                converged(replicas, "v1") and healthy_containers() == replicas
            ),
            120,
        )
        figures = client("bench", url, "--connections=16", "--seconds=8")
        record(
            f"benchmark: {replicas} replica{'s' if replicas > 1 else ''}, GET /api/v1/keys/{{key}}",
            f"{figures['rps']} req/s, {figures['failures']} failed "
            f"{str(dict(figures['failure_kinds'])) + ' ' if figures['failures'] else ''}"
            "(16 keep-alive connections, 8 s)",
            settled is not None,  # the figure is not a goal; the scaling must work, though
        )


def deploy_under_load(version: str, end_states: tuple[str, ...]) -> tuple[dict, bool, float]:
    """Deploy `version` under steady load until the update reaches one of `end_states`.

    Returns the load's summary, whether an end state came within 300 s, and the seconds taken.
    """
    with SteadyLoad() as load:
        started = time.monotonic()
        deploy(version)
        done = wait_for(lambda: update_state() in end_states, 300)
        seconds = round(time.monotonic() - started, 1)
    return load.summary, done is not None, seconds


def answering_only(version: str) -> tuple[bool, dict]:
    """Whether all 3 replicas run `version` and only it answers; the revisions that answered."""
    revisions = client("spread", f"{APP_URL}/healthz", "30")["revisions"]
    return converged(3, version) and set(revisions) == {VERSIONS[version]}, revisions


def check_rolling_update() -> None:
    step("rolling update v1 -> v2 under steady load")
    load, done, seconds = deploy_under_load("v2", ("completed",))
    record(
        "rolling update v1->v2: zero failed requests",
        describe_load(load),
        done and load["failures"] == 0,
    )
    on_v2, revisions = answering_only("v2")
    record(
        "rolling update: every replica on v2",
        f"update {update_state() or 'unknown'} after {seconds} s; "
        f"revisions answering now {dict(revisions)}",
        on_v2,
    )


def check_rollback() -> None:
    step("update to an image whose healthcheck fails: Swarm must roll back by itself")
    load, done, seconds = deploy_under_load("unhealthy", ("rollback_completed", "rollback_paused"))
    back_on_v2, _ = answering_only("v2")
    record(
        "unhealthy update rolls back",
        f"{update_state() or 'no update state'} after {seconds} s; meanwhile {describe_load(load)}",
        done and update_state() == "rollback_completed" and back_on_v2,
    )


def check_node_loss() -> None:
    step("stop a worker node: its replicas move, the service keeps answering, data stays")
    written = client("put", f"{APP_URL}/api/v1/keys/{DATA_KEY}", DATA_VALUE)["status"]
    workers = [task["node"] for task in running_tasks() if task["node"] != MANAGER]
    victim = workers[-1] if workers else NODES[-1]
    with SteadyLoad() as load:
        run("docker", "stop", victim)
        moved = wait_for(
            lambda: converged(3, "v2", lost_node=victim) and healthy_containers() == 3, 180
        )
    record(
        f"node loss: replicas rescheduled off {victim[-5:]}",
        f"3 healthy on the other nodes after {moved} s" if moved else "not within 180 s",
        moved is not None,
    )
    record(
        "node loss: service keeps answering",
        f"{load.summary['seconds_without_success']} s without an answer; "
        f"{describe_load(load.summary)}",
        load.summary["seconds_without_success"] == 0,
    )
    read_back = client("get", f"{APP_URL}/api/v1/keys/{DATA_KEY}")
    value = (read_back["body"] or {}).get("value")
    record(
        "node loss: data written before is still there",
        f"PUT {written}, then GET {read_back['status']} value={value!r}",
        written in (200, 201) and value == DATA_VALUE,
    )


def print_summary(load_before: float) -> None:
    width = max((len(check.name) for check in results), default=10)
    print(f"\nSwarm test summary ({len(NODES)} nodes, docker-in-docker)")
    # All nodes share this machine's CPUs: other work on it shows up in the figures.
    print(
        f"host: {os.cpu_count()} CPUs, load average {load_before:.1f} before the test, "
        f"{os.getloadavg()[0]:.1f} at its end"
    )
    print(f"{'check'.ljust(width)}  result  figure")
    for check in results:
        print(f"{check.name.ljust(width)}  {'pass' if check.passed else 'FAIL':6}  {check.figure}")


def main() -> int:
    # SIGTERM (CI timeouts, `kill`) unwinds through `finally` like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started, load_before = time.monotonic(), os.getloadavg()[0]
    teardown()  # leftovers of an interrupted run
    try:
        build_images()
        start_swarm()
        push_images()
        copy_stack_files()
        check_deploy()
        benchmark()
        check_rolling_update()
        check_rollback()
        check_node_loss()
    except Exception as error:  # any failure is reported as a failed check
        record("swarm test ran to the end", f"{type(error).__name__}: {error}", False)
    finally:
        teardown()
        print_summary(load_before)
    passed = sum(check.passed for check in results)
    print(f"total {round(time.monotonic() - started)} s")
    # The closing line CI tools read, as pytest would print it.
    print(f"swarm: {passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
