"""Runs INSIDE the app container, which has no ps: finds gunicorn's workers through /proc.

`python - < gunicorn_workers.py` prints {"master": pid, "workers": {pid: open client connections}}.
With the argument `kill`, it then SIGKILLs the worker holding the most client connections, in
the same breath as counting them, and adds "killed" to the output.
"""

import json
import os
import signal
import sys

PORT = int(os.environ.get("PORT", "5000"))
TCP_ESTABLISHED = "01"


def gunicorn_processes() -> dict[int, int]:
    """pid -> parent pid of every process whose command line mentions gunicorn."""
    found = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with (
                open(f"/proc/{entry}/cmdline", "rb") as cmdline,
                open(f"/proc/{entry}/stat") as stat,
            ):
                command, fields = cmdline.read(), stat.read()
        except OSError:
            continue  # the process ended while we looked
        if b"gunicorn" in command:
            found[int(entry)] = int(fields.rpartition(")")[2].split()[1])
    return found


def client_connections(pid: int) -> int:
    """Established TCP connections to the app's port that this process holds open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as sockets:
                rows = [line.split() for line in sockets.read().splitlines()[1:]]
        except OSError:
            continue
        for row in rows:
            local_port = int(row[1].rpartition(":")[2], 16)
            count += local_port == PORT and row[3] == TCP_ESTABLISHED and row[9] in inodes
    return count


def main() -> None:
    processes = gunicorn_processes()
    master = next(pid for pid, parent in processes.items() if parent not in processes)
    workers = {
        pid: client_connections(pid) for pid, parent in processes.items() if parent == master
    }
    report = {"master": master, "workers": workers}
    if sys.argv[1:] == ["kill"]:
        busiest = max(workers, key=workers.get)
        os.kill(busiest, signal.SIGKILL)
        report["killed"] = busiest
    print(json.dumps(report))


main()
