"""HTTP client for the swarm test; runs in a container attached to the stack's network.

Standard library only, so it runs in the app image itself. Every request of the `spread` and
`steady` modes opens a new connection, so each one asks Swarm's DNS again and may land on any
replica: an error is the service's, never a stale pooled connection's. The summary is one JSON
object on stdout.

    put URL VALUE                       PUT {"value": VALUE} (JSON API); prints the status
    get URL                             GET; prints the status and the JSON body
    spread URL COUNT                    which replicas (hostnames, revisions) answer COUNT requests
    steady URL... --rate R --max-seconds S
                                        about R requests/s from 4 threads (so one slow request does
                                        not stall the rest), round-robin over the URLs, until stdin
                                        says stop (or closes) or S seconds pass
    bench URL --connections C --seconds S
                                        requests/s over C keep-alive connections, each one opened
                                        to the address DNS gives first at that moment
    writer URL --rate R --max-seconds S
                                        PUTs unique keys URL/<run>-<n> (value = the key) at about
                                        R/s until stdin says stop, recording when each one was
                                        acknowledged (2xx); then reads every acknowledged key back
                                        and counts those missing or changed (lost)

API requests carry `Authorization: Bearer $API_TOKEN` when the environment sets it.
"""

import argparse
import http.client
import itertools
import json
import os
import secrets
import socket
import sys
import threading
import time
import urllib.parse
from collections import Counter

TIMEOUT_SECONDS = 5.0  # slow is not failed; no answer within this counts as a failure
MAX_STEADY_REQUESTS = 50_000  # a bound on top of --max-seconds
READ_BACK_SECONDS = 60  # a key that answers 503 this long is counted as unreadable, not lost


def auth_headers(path: str) -> dict[str, str]:
    token = os.environ.get("API_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token and path.startswith("/api/") else {}


def fetch(url: str, method: str = "GET", body: bytes | None = None) -> tuple[int, bytes]:
    """One request over a fresh connection; returns (status, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(
        parts.hostname, parts.port or 80, timeout=TIMEOUT_SECONDS
    )
    headers = {"Connection": "close", "Content-Type": "application/json"}
    headers.update(auth_headers(parts.path))
    try:
        connection.request(method, parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def describe(url: str) -> dict:
    """One request; what it tells about the replica that answered (or why it failed).

    The name is resolved here, not by http.client, so a failure can name the task's address
    and the step that failed.
    """
    parts = urllib.parse.urlsplit(url)
    step = "resolve"
    started = time.monotonic()
    try:
        address = socket.getaddrinfo(parts.hostname, parts.port, type=socket.SOCK_STREAM)[0][4][0]
        step = f"connect {address}"
        connection = http.client.HTTPConnection(address, parts.port, timeout=TIMEOUT_SECONDS)
        try:
            connection.connect()
            step = f"request {address}"
            headers = {"Connection": "close", **auth_headers(parts.path)}
            connection.request("GET", parts.path, headers=headers)
            response = connection.getresponse()
            status, body = response.status, response.read()
        finally:
            connection.close()
    except OSError as error:  # refused, reset, timed out, DNS failure...
        kind = type(error).__name__
        return {"ok": False, "kind": kind, "error": f"{step}: {kind}: {error}"}
    if not 200 <= status < 300:
        kind = f"HTTP {status}"
        return {"ok": False, "kind": kind, "error": f"{step}: {kind} {body[:160]!r}"}
    result = {"ok": True, "seconds": time.monotonic() - started}
    if body.startswith(b"{"):
        document = json.loads(body)
        result.update(hostname=document.get("hostname"), revision=document.get("revision"))
    return result


def spread(url: str, count: int) -> dict:
    """Which hostnames and revisions answer `count` requests."""
    results = [describe(url) for _ in range(count)]
    return {
        "requests": count,
        "failures": sum(not r["ok"] for r in results),
        "hostnames": Counter(r["hostname"] for r in results if r["ok"]),
        "revisions": Counter(r["revision"] for r in results if r["ok"]),
    }


def steady(urls: list[str], rate: float, max_seconds: float, threads: int = 4) -> dict:
    """Paced requests until told to stop; counts failures and the revisions seen over time."""
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    started = time.monotonic()
    outcomes = []  # (seconds since start, result); list.append is atomic under the GIL

    def worker(offset: int) -> None:
        for sent in range(MAX_STEADY_REQUESTS // threads):
            due = started + (sent * threads + offset) / rate
            if stop.wait(max(0.0, due - time.monotonic())) or due - started > max_seconds:
                return
            result = describe(urls[(sent * threads + offset) % len(urls)])
            outcomes.append((time.monotonic() - started, result))

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    print("started", file=sys.stderr, flush=True)  # the test waits for this before it acts
    for thread in workers:
        thread.join()
    outcomes.sort(key=lambda outcome: outcome[0])
    failures = [(round(t, 2), r["error"]) for t, r in outcomes if not r["ok"]]
    seconds_with_success = {int(t) for t, r in outcomes if r["ok"]}
    duration = int(time.monotonic() - started)
    return {
        "requests": len(outcomes),
        "seconds": round(time.monotonic() - started, 1),
        "failures": len(failures),
        "failure_kinds": Counter(r["kind"] for _, r in outcomes if not r["ok"]),
        "first_failures": failures[:10],
        "slowest_seconds": round(max((r["seconds"] for _, r in outcomes if r["ok"]), default=0), 2),
        "revisions": Counter(r.get("revision") for _, r in outcomes if r.get("revision")),
        "last_revisions": Counter(
            r.get("revision") for _, r in outcomes[-30:] if r.get("revision")
        ),
        "seconds_without_success": sum(s not in seconds_with_success for s in range(duration)),
    }


def bench(url: str, connections: int, seconds: float) -> dict:
    """Requests/s over keep-alive connections spread over the replicas by DNS round-robin."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.monotonic() + seconds
    counts = Counter()

    def connect() -> http.client.HTTPConnection:
        address = socket.getaddrinfo(parts.hostname, parts.port, type=socket.SOCK_STREAM)[0][4][0]
        return http.client.HTTPConnection(address, parts.port, timeout=TIMEOUT_SECONDS)

    def worker() -> None:
        connection = connect()
        while time.monotonic() < deadline:
            try:
                connection.request("GET", parts.path, headers=auth_headers(parts.path))
                response = connection.getresponse()
                response.read()
                counts["ok" if response.status == 200 else f"HTTP {response.status}"] += 1
            except (OSError, http.client.HTTPException) as error:
                counts[type(error).__name__] += 1
                connection.close()
                connection = connect()  # ask DNS again, as a real client would

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    successes = counts.pop("ok", 0)
    return {
        "requests": successes,
        "failures": sum(counts.values()),
        "failure_kinds": counts,
        "rps": round(successes / elapsed),
    }


def write_unique_keys(url: str, rate: float, max_seconds: float, threads: int = 8) -> dict:
    """PUT unique keys until told to stop; then read each acknowledged one back.

    Eight threads, so that requests waiting out a failover (up to the client timeout) do not
    hold the rate down; a thread that fell behind catches up, so the rate is kept on average.
    """
    run = secrets.token_hex(4)
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
    started = time.monotonic()
    acknowledged = []  # (seconds since start, key)
    failed = Counter()

    def worker(offset: int) -> None:
        for sent in range(MAX_STEADY_REQUESTS // threads):
            number = sent * threads + offset
            due = started + number / rate
            if stop.wait(max(0.0, due - time.monotonic())) or due - started > max_seconds:
                return
            key = f"{run}-{number}"
            try:
                status, _ = fetch(f"{url}/{key}", "PUT", json.dumps({"value": key}).encode())
            except (OSError, http.client.HTTPException) as error:
                failed[type(error).__name__] += 1
                continue
            if 200 <= status < 300:
                acknowledged.append((time.monotonic() - started, key))
            else:
                failed[f"HTTP {status}"] += 1

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    print("started", file=sys.stderr, flush=True)
    for thread in workers:
        thread.join()
    seconds = time.monotonic() - started
    times = sorted(t for t, _ in acknowledged)
    edges = [0.0, *times, seconds]
    gaps = [(later - earlier, earlier) for earlier, later in itertools.pairwise(edges)]
    longest_gap, gap_start = max(gaps, default=(seconds, 0.0))
    lost, unreadable = read_back(url, [key for _, key in acknowledged])
    return {
        "acknowledged": len(acknowledged),
        "failed": sum(failed.values()),
        "failure_kinds": failed,
        "seconds": round(seconds, 1),
        "longest_gap_seconds": round(longest_gap, 1),
        "longest_gap_from": round(gap_start, 1),
        "lost": lost,
        "unreadable": unreadable,
        "last_acknowledged_key": max(acknowledged)[1] if acknowledged else None,
    }


def read_back(url: str, keys: list[str]) -> tuple[list[str], list[str]]:
    """Keys missing or holding another value (lost), and keys that never answered (unreadable)."""
    lost, unreadable = [], []
    deadline = time.monotonic() + READ_BACK_SECONDS
    for key in keys:
        while True:
            try:
                status, body = fetch(f"{url}/{key}")
            except (OSError, http.client.HTTPException):
                status, body = 0, b""
            if status == 200:
                if json.loads(body).get("value") != key:
                    lost.append(key)
                break
            if status == 404:
                lost.append(key)
                break
            if time.monotonic() > deadline:
                unreadable.append(key)
                break
            time.sleep(0.2)
    return lost, unreadable


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    modes = parser.add_subparsers(dest="mode", required=True)
    put_mode = modes.add_parser("put")
    put_mode.add_argument("url")
    put_mode.add_argument("value")
    get_mode = modes.add_parser("get")
    get_mode.add_argument("url")
    spread_mode = modes.add_parser("spread")
    spread_mode.add_argument("url")
    spread_mode.add_argument("count", type=int)
    steady_mode = modes.add_parser("steady")
    steady_mode.add_argument("urls", nargs="+")
    steady_mode.add_argument("--rate", type=float, default=50)
    steady_mode.add_argument("--max-seconds", type=float, default=180)
    writer_mode = modes.add_parser("writer")
    writer_mode.add_argument("url")
    writer_mode.add_argument("--rate", type=float, default=40)
    writer_mode.add_argument("--max-seconds", type=float, default=300)
    bench_mode = modes.add_parser("bench")
    bench_mode.add_argument("url")
    bench_mode.add_argument("--connections", type=int, default=8)
    bench_mode.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    if args.mode == "put":
        status, _ = fetch(args.url, "PUT", json.dumps({"value": args.value}).encode())
        summary = {"status": status}
    elif args.mode == "get":
        status, body = fetch(args.url)
        summary = {"status": status, "body": json.loads(body) if body.startswith(b"{") else None}
    elif args.mode == "spread":
        summary = spread(args.url, args.count)
    elif args.mode == "steady":
        summary = steady(args.urls, args.rate, args.max_seconds)
    elif args.mode == "writer":
        summary = write_unique_keys(args.url, args.rate, args.max_seconds)
    else:
        summary = bench(args.url, args.connections, args.seconds)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
