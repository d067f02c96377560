"""App faults: `docker compose stop` mid-request, and a gunicorn worker killed under load."""

import json
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.host_helpers import WaitTimedOut, docker, wait_until

from .client import TIMEOUT, key_path
from .load import BackgroundLoad
from .stack import APP

WORKERS_SCRIPT = (Path(__file__).parent / "gunicorn_workers.py").read_text()


def raw_put(
    host: str, key: str, body: bytes, split: int, authorization: str
) -> tuple[socket.socket, bytes]:
    """Open a connection and send a PUT's headers and the first `split` bytes of its body."""
    connection = socket.create_connection((host, 5000), timeout=TIMEOUT)
    head = (
        f"PUT {key_path(key)} HTTP/1.1\r\nHost: proof\r\nContent-Type: application/json\r\n"
        f"Authorization: {authorization}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    connection.sendall(head + body[:split])
    return connection, body[split:]


def read_response(connection: socket.socket) -> tuple[int, bytes]:
    """Read until the server closes; return (status, body) or (0, partial bytes) if cut short."""
    data = b""
    while chunk := connection.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    lengths = [
        int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length:")
    ]
    if not lines[0].startswith("HTTP/1.1 ") or not lengths or len(body) != lengths[0]:
        return 0, data
    return int(lines[0].split()[1]), body


def wait_for_log_line(container: str, text: str, since: str, seconds: float) -> bool:
    """True once `text` shows in the container's log after `since`; False after `seconds`.

    A bool, not a failure: the test finishes the uploads it holds open before it judges."""

    def logged() -> bool:
        logs = docker("logs", "--since", since, container)
        return text in logs.stdout + logs.stderr

    try:
        return wait_until(logged, seconds, f"{text!r} in the log", interval=0.1)
    except WaitTimedOut:
        return False


def test_compose_stop_completes_every_in_flight_request(stack_restored, figure):
    """`docker compose stop dockerapp` mid-request: every in-flight request gets a full response"""
    stack = stack_restored
    host = stack.container_ip(APP, internal=False)  # direct, so docker-proxy cannot blur the result
    big_value = "x" * 60_000
    assert requests.put(stack.url(key_path("big")), json={"value": big_value}, timeout=TIMEOUT).ok
    # Slow uploads: headers and half the body sent before the stop, the rest after SIGTERM.
    bodies = {
        f"in-flight-{n}": json.dumps({"value": f"{n}-" + "y" * 30_000}).encode() for n in range(16)
    }
    bearer = stack.credentials.bearer()
    uploads = {
        key: raw_put(host, key, data, len(data) // 2, bearer) for key, data in bodies.items()
    }
    # Keep-alive readers of a 60 kB value, looping across the stop.
    get_big = lambda session: session.get(f"http://{host}:5000{key_path('big')}", timeout=TIMEOUT)  # noqa: E731
    with BackgroundLoad(get_big, clients=16, max_seconds=30, pause=0.01) as readers:
        time.sleep(1)
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        stop_requested_at = time.monotonic()
        stopper = subprocess.Popen(
            [*stack.compose_command(), "stop", APP],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=stack.compose_process_env(),
        )
        # gunicorn logs the signal as its graceful shutdown starts; only then finish the bodies.
        terminating = wait_for_log_line(stack.container(APP), "Handling signal: term", since, 8)
        time.sleep(0.5)
        results = {}
        for key, (connection, rest) in uploads.items():
            try:
                connection.sendall(rest)
                results[key] = read_response(connection)
            except OSError as error:
                results[key] = (0, str(error).encode())
            finally:
                connection.close()
        stopper.wait(timeout=60)
    exit_code = stack.inspect(APP)["State"]["ExitCode"]
    completed = [
        key
        for key, (status, body) in results.items()
        if status in (200, 201) and json.loads(body)["key"] == key
    ]
    full_reads = [o for o in readers.outcomes if o.status == 200]
    cut_reads = [
        o
        for o in readers.outcomes
        if o.error == "ChunkedEncodingError" or (o.status and o.status != 200)
    ]
    refused_reads = [o for o in readers.outcomes if o.error and o.error != "ChunkedEncodingError"]
    # Sent before `compose stop` even ran, yet never answered: dropped while in flight.
    dropped_reads = [o for o in refused_reads if o.started < stop_requested_at]
    figure(
        in_flight_uploads=len(uploads),
        completed=len(completed),
        reads=len(full_reads),
        reads_cut_mid_response=len(cut_reads),
        reads_dropped_in_flight=len(dropped_reads),
        refused_after_stop=len(refused_reads) - len(dropped_reads),
        exit_code=exit_code,
    )
    assert terminating, (
        "no SIGTERM seen in the app's log: the requests were not in flight across it"
    )
    assert len(completed) == len(uploads), {
        key: result for key, result in results.items() if key not in completed
    }
    assert not cut_reads
    assert not dropped_reads
    assert stopper.returncode == 0 and exit_code == 0, "gunicorn did not exit cleanly on SIGTERM"


def gunicorn_workers(stack, *args: str) -> dict:
    result = docker(
        "exec", "-i", stack.container(APP), "python", "-", *args, input=WORKERS_SCRIPT, timeout=30
    )
    report = json.loads(result.stdout)
    report["workers"] = {int(pid): count for pid, count in report["workers"].items()}
    return report


def test_killed_worker_fails_only_its_own_requests_and_is_replaced(stack, figure):
    """One gunicorn worker SIGKILLed under load: only its requests fail, and a new worker appears"""
    get_key = lambda session: session.get(stack.url("/api/v1/keys/fault"), timeout=TIMEOUT)  # noqa: E731
    requests.put(stack.url("/api/v1/keys/fault"), json={"value": "v"}, timeout=TIMEOUT)
    before = gunicorn_workers(stack)
    with BackgroundLoad(get_key, clients=16, max_seconds=60) as load:
        time.sleep(2)
        killed = gunicorn_workers(stack, "kill")
        killed_at = time.monotonic()
        deadline, after = killed_at + 30, before
        while time.monotonic() < deadline:
            after = gunicorn_workers(stack)
            if (
                len(after["workers"]) == len(before["workers"])
                and killed["killed"] not in after["workers"]
            ):
                break
            time.sleep(0.2)
        replaced_at = time.monotonic()
        time.sleep(2)
    held = killed["workers"][killed["killed"]]
    failed = [o for o in load.outcomes if o.status != 200]
    figure(
        requests=len(load.outcomes),
        workers=len(before["workers"]),
        connections_of_killed_worker=held,
        failed=len(failed),
        replaced_in=f"{replaced_at - killed_at:.1f} s",
    )
    assert not [o for o in failed if o.status is not None], (
        "a worker crash must not cause error responses"
    )
    assert len(failed) <= held, (
        f"{len(failed)} failed requests, but the killed worker held {held} connections"
    )
    assert after["master"] == before["master"]
    assert killed["killed"] not in after["workers"] and len(after["workers"]) == len(
        before["workers"]
    )
    assert load.between(replaced_at) and all(o.status == 200 for o in load.between(replaced_at))
