"""`make swarm-test`: deploy stack.yml on a 3-node swarm in docker-in-docker and check it for real.

From nothing: builds the node, registry and app images, starts three Docker engines in containers
(three managers) and a registry on a private network, pushes the images there, deploys the stack
with the test-only override, runs the checks (updates, rollback, then the loss of a replica's
node, of the primary's node, and the lost node's return, with a writer running), prints a
summary table and tears everything down, also on failure or Ctrl-C. Exit status 1 if any check
fails.

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
    API_TOKEN,
    APP_URL,
    BENCH_KEY,
    DATA_KEY,
    DATA_VALUE,
    HERE,
    NODES,
    PULL_FROM,
    SERVICE,
    STACK,
    VERSIONS,
    build_images,
    control_node,
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
    use_control_node,
    wait_for,
)
from tests.swarm.redis_ha import (
    REDIS_NAMES,
    node_of,
    primary_by_sentinels,
    role,
    stored_value,
)


@dataclass
class Check:
    name: str
    figure: str
    passed: bool


results: list[Check] = []
ha_lines: list[str] = []  # one per HA scenario, printed with the summary


def record(name: str, figure: str, passed: bool) -> None:
    results.append(Check(name, figure, passed))
    print(f"  {'PASS' if passed else 'FAIL'}  {name}: {figure}", flush=True)


# ---------------------------------------------------------------- the service's client
CLIENT = "dockerapp-swarm-client"  # a container inside the manager node


def start_client() -> None:
    """One long-lived container on the control node, attached to the stack's front network.

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
        "docker", "exec", "-i", control_node(), "docker", "exec", "-i",
        f"--env=API_TOKEN={API_TOKEN}", CLIENT, "python", "-c", script, *arguments,
    ]  # fmt: skip


def client(*arguments: str) -> dict:
    return json.loads(run(*client_command(*arguments)).splitlines()[-1])


class SteadyLoad:
    """A bounded, paced load that runs while the test changes the service (a context manager)."""

    def __init__(self, rate: int = 40, max_seconds: int = 240, writer: bool = False) -> None:
        """Steady reads of /healthz and a key; with `writer`, PUTs of unique keys instead."""
        if writer:
            arguments = ["writer", f"{APP_URL}/api/v1/keys"]
        else:
            arguments = ["steady", f"{APP_URL}/healthz", f"{APP_URL}/api/v1/keys/{BENCH_KEY}"]
        self.command = client_command(*arguments, f"--rate={rate}", f"--max-seconds={max_seconds}")
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
        # A writer reads every acknowledged key back before it answers.
        output, _ = self.process.communicate("stop\n", timeout=300)
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


WRITE_GAP_LIMIT_SECONDS = 20  # the bound: writes succeed again within 20 s of a kill
HA_WRITE_RATE = 40  # PUTs per second (the issue: at least 40)


def report_writer(scenario: str, summary: dict) -> bool:
    """The scenario's `ha:` line (kept for the summary); whether nothing acknowledged was lost."""
    lost, unreadable = len(summary["lost"]), len(summary["unreadable"])
    ha_lines.append(
        f"ha: {scenario}: acknowledged {summary['acknowledged']}, lost {lost}, "
        f"longest write gap {summary['longest_gap_seconds']} s"
    )
    kinds = ", ".join(f"{count} x {kind}" for kind, count in summary["failure_kinds"].items())
    print(f"    writer: {json.dumps(summary)[:600]}", flush=True)
    record(
        f"{scenario}: no acknowledged write lost",
        f"{summary['acknowledged']} acknowledged in {summary['seconds']} s, {lost} lost, "
        f"{unreadable} unreadable; {summary['failed']} not acknowledged ({kinds or 'none'})",
        summary["acknowledged"] > 0 and lost == 0 and unreadable == 0,
    )
    return lost == 0


def record_gap(scenario: str, summary: dict) -> None:
    gap = summary["longest_gap_seconds"]
    record(
        f"{scenario}: writes succeed again within {WRITE_GAP_LIMIT_SECONDS} s",
        f"longest write gap {gap} s (from {summary['longest_gap_from']} s into the run)",
        gap <= WRITE_GAP_LIMIT_SECONDS,
    )


def rejoined_as_replica(name: str, primary: str) -> bool:
    return role(name) == ("slave", primary, "connected")


def primaries() -> list[str]:
    """The Redis tasks that say they are a primary now."""
    return [name for name in REDIS_NAMES if role(name) == ("master",)]


def check_replica_node_loss() -> None:
    step("replica node loss: kill (docker kill) a node that runs a Redis replica, writer running")
    written = client("put", f"{APP_URL}/api/v1/keys/{DATA_KEY}", DATA_VALUE)["status"]
    primary = primary_by_sentinels()
    # A node without the primary (nor the test's client), preferably one that runs app replicas.
    candidates = [node for node in NODES if node not in (node_of(primary or "redis-1"),
                                                         control_node())]  # fmt: skip
    with_app = {task["node"] for task in running_tasks()}
    victim = sorted(candidates, key=lambda node: node in with_app)[-1]
    with SteadyLoad(rate=HA_WRITE_RATE, max_seconds=400, writer=True) as writer:
        time.sleep(5)  # writes acknowledged before the kill
        run("docker", "kill", victim)
        moved = wait_for(
            lambda: converged(3, "v2", lost_node=victim) and healthy_containers() == 3, 180
        )
        time.sleep(5)  # and after the app moved
    record(
        f"replica node loss: app replicas rescheduled off {victim[-5:]}",
        f"3 healthy on the other nodes after {moved} s" if moved else "not within 180 s",
        moved is not None,
    )
    report_writer("replica node loss", writer.summary)
    record_gap("replica node loss", writer.summary)
    read_back = client("get", f"{APP_URL}/api/v1/keys/{DATA_KEY}")
    value = (read_back["body"] or {}).get("value")
    record(
        "replica node loss: data written before is still there",
        f"PUT {written}, then GET {read_back['status']} value={value!r}",
        written in (200, 201) and value == DATA_VALUE,
    )
    step(f"bring {victim} back: its Redis must rejoin as a replica")
    run("docker", "start", victim)
    name = REDIS_NAMES[NODES.index(victim)]
    back = wait_for(lambda: rejoined_as_replica(name, primary_by_sentinels() or "?"), 180, 2)
    record(
        f"replica node returns: {name} a replica again",
        f"after {back} s, replica of {primary_by_sentinels()}" if back else f"{name}: {role(name)}",
        back is not None,
    )


def check_primary_node_loss() -> tuple[str, str, str | None]:
    """Kill the primary's node; returns (lost node, old primary, a key acknowledged after)."""
    step("primary node loss: kill (docker kill) the node that runs the Redis primary")
    old_primary = primary_by_sentinels() or "unknown"
    victim = node_of(old_primary) if old_primary in REDIS_NAMES else NODES[0]
    if victim == control_node():  # the test's commands and client move to a surviving manager
        use_control_node(next(node for node in NODES if node != victim))
        start_client()
    with SteadyLoad(rate=HA_WRITE_RATE, max_seconds=400, writer=True) as writer:
        time.sleep(5)
        run("docker", "kill", victim)
        elected = wait_for(
            lambda: primary_by_sentinels(skip_node=victim) not in (None, old_primary), 60, 0.5
        )
        leader = wait_for(lambda: "Leader" in on_manager("node", "ls", check=False), 60)
        moved = wait_for(
            lambda: converged(3, "v2", lost_node=victim) and healthy_containers() == 3, 180
        )
        time.sleep(5)
    new_primary = primary_by_sentinels(skip_node=victim)
    record(
        "primary node loss: Sentinel elects a new primary",
        f"{old_primary} -> {new_primary} after {elected} s" if elected else "none within 60 s",
        elected is not None,
    )
    record(
        "primary node loss: the swarm keeps a leader",
        f"after {leader} s" if leader is not None else "no leader within 60 s",
        leader is not None,
    )
    record(
        f"primary node loss: app replicas rescheduled off {victim[-5:]}",
        f"3 healthy on the other nodes after {moved} s" if moved else "not within 180 s",
        moved is not None,
    )
    report_writer("primary node loss", writer.summary)  # keys from before the kill included
    record_gap("primary node loss", writer.summary)
    return victim, old_primary, writer.summary["last_acknowledged_key"]


def check_lost_node_returns(victim: str, old_primary: str, key_after: str | None) -> None:
    step(f"the lost node returns: {old_primary} must rejoin as a replica, never a primary")
    most_primaries = [0]

    def rejoined() -> bool:
        most_primaries[0] = max(most_primaries[0], len(primaries()))
        current = primary_by_sentinels(skip_node=victim)
        return bool(current) and rejoined_as_replica(old_primary, current)

    with SteadyLoad(rate=HA_WRITE_RATE, max_seconds=400, writer=True) as writer:
        run("docker", "start", victim)
        back = wait_for(rejoined, 180, 1)
        synced = wait_for(lambda: key_after and stored_value(old_primary, key_after) == key_after,
                          60)  # fmt: skip
        time.sleep(5)
    current = primary_by_sentinels()
    record(
        f"lost node returns: {old_primary} rejoins as a replica of {current}",
        f"after {back} s; at most {most_primaries[0]} primary at any check"
        if back
        else f"{old_primary}: {role(old_primary)}",
        back is not None and most_primaries[0] == 1 and len(primaries()) == 1,
    )
    record(
        f"lost node returns: a value written after the failover is on {old_primary}",
        f"key {key_after} there after {synced} s" if synced else f"key {key_after} missing",
        synced is not None,
    )
    report_writer("lost node returns", writer.summary)


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
    for line in ha_lines:
        print(line)


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
        check_replica_node_loss()
        check_lost_node_returns(*check_primary_node_loss())
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
