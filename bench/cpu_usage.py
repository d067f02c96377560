"""CPU time from the kernel: a container's cgroup, the Docker engine's processes, the machine.

Read straight from /sys/fs/cgroup and /proc (root, on the engine's host), so sampling costs no
docker call and can happen in the middle of a load point.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
# The engine's own processes: dockerd (and its log drivers), containerd and its shims (which
# copy the containers' stdout), docker-proxy (published ports).
ENGINE = ("dockerd", "containerd", "docker-proxy")


def cgroup_cpu_file(pid: int) -> Path:
    """The cgroup file counting the CPU time of the container whose first process is `pid`.

    cgroup v2: cpu.stat (usage_usec); v1: cpuacct.usage (ns), under cpuacct or cpu,cpuacct.
    The same for the cgroupfs and the systemd cgroup drivers: the path comes from /proc.
    """
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            candidates = [Path(f"/sys/fs/cgroup{path}/cpu.stat")]
        elif "cpuacct" in controllers.split(","):
            candidates = [
                Path(f"/sys/fs/cgroup/{d}{path}/cpuacct.usage")
                for d in (controllers, "cpuacct", "cpu,cpuacct")
            ]
        else:
            continue
        for candidate in candidates:
            if candidate.exists():
                return candidate
    raise RuntimeError(f"no CPU accounting file for the cgroup of process {pid}")


def cgroup_seconds(cpu_file: Path) -> float:
    """CPU seconds used so far by every process of a cgroup."""
    text = cpu_file.read_text()
    if cpu_file.name == "cpu.stat":
        return int(text.split("usage_usec", 1)[1].split()[0]) / 1e6
    return int(text) / 1e9


def engine_ticks(with_reaped_children: bool = False) -> dict[int, int]:
    """CPU ticks (user + system) used so far by each of the engine's processes, by pid.

    `with_reaped_children` adds what their ended children used (runc, run once per `docker
    exec`): right for counting a burst of execs, wrong for a steady load point, where a shim's
    children are not the engine's work.
    """
    last_field = 15 if with_reaped_children else 13  # utime stime [cutime cstime]
    ticks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().rsplit(")", 1)
        except OSError:  # the process ended meanwhile
            continue
        if name.split("(", 1)[1].startswith(ENGINE):
            counted = fields.split()[11:last_field]
            ticks[int(stat.parent.name)] = sum(int(field) for field in counted)
    return ticks


def machine_ticks() -> tuple[int, int, int]:
    """(busy, stolen, total) ticks of all CPUs so far.

    Idle and I/O wait are not busy. Stolen is the time the hypervisor gave this VM's CPUs to
    others while they had work: a VM that is neither busy nor idle then, and slower for it.
    """
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # guest time is already counted in user time
    idle, iowait, stolen = values[3], values[4], values[7]
    return total - idle - iowait - stolen, stolen, total


@dataclass
class Sample:
    """Counters at one moment of a load point."""

    at: float
    server: float
    redis: float
    engine: dict[int, int]
    machine: tuple[int, int]


def sample(server_cpu: Path, redis_cpu: Path) -> Sample:
    """Read every counter now."""
    return Sample(
        time.monotonic(),
        cgroup_seconds(server_cpu),
        cgroup_seconds(redis_cpu),
        engine_ticks(),
        machine_ticks(),
    )


@dataclass
class Usage:
    """What was used between two samples, as rates."""

    server_cores: float  # CPU of the server's container, in cores
    redis_cores: float
    engine_cores: float  # the engine's processes that lived through the whole interval
    machine_busy: float  # share of all CPUs, 0 to 1
    stolen: float  # share of all CPUs the hypervisor took, 0 to 1


def between(before: Sample, after: Sample) -> Usage:
    """CPU rates from `before` to `after`."""
    seconds = after.at - before.at
    shared = before.engine.keys() & after.engine.keys()
    engine = sum(after.engine[pid] - before.engine[pid] for pid in shared) / TICKS_PER_SECOND
    busy, stolen, total = map(int.__sub__, after.machine, before.machine)
    return Usage(
        server_cores=(after.server - before.server) / seconds,
        redis_cores=(after.redis - before.redis) / seconds,
        engine_cores=engine / seconds,
        machine_busy=busy / max(total, 1),
        stolen=stolen / max(total, 1),
    )
