"""HTTP benchmark: dockerapp under its gunicorn config vs a bare Flask app (the ceiling).

Run by `make bench-http`. Both servers run on 127.0.0.1 with the same gunicorn settings, next
to a real redis-server; wrk drives GET /, GET /api/v1/keys/{key} and PUT /api/v1/keys/{key} at
1, 16 and 64 keep-alive connections. Prints a table; asserts nothing. Extra arguments go to
gunicorn, e.g. `python bench/bench_http.py -k sync -w 5` to measure another worker model.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DURATION = os.environ.get("BENCH_DURATION", "5s")
CONNECTIONS = (1, 16, 64)
SCENARIOS = (
    ("GET /", "/", None),
    ("GET key", "/api/v1/keys/bench", None),
    ("PUT key", "/api/v1/keys/bench", ROOT / "bench" / "put.lua"),
)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def free_port(start: int = 15000, stop: int = 16000) -> int:
    """A free 127.0.0.1 port in the range this project gives the app and its benchmarks."""
    for port in range(start, stop):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return port
    raise RuntimeError("no free port")


def wait_until_up(url: str, seconds: float = 15) -> None:
    """Poll `url` until it answers 200."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def start(stack: ExitStack, command: list[str], env: dict[str, str]) -> None:
    """Start a server that the ExitStack stops (SIGTERM, then waits)."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    stack.callback(process.wait, 20)
    stack.callback(process.terminate)


def run_wrk(url: str, connections: int, script: Path | None) -> dict[str, float]:
    """One wrk run; returns req/s, p50 and p99 in ms, and errors (socket errors + non-2xx)."""
    command = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{DURATION}", "--latency"]
    command += ["-s", str(script)] if script else []
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    errors += sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p50": latency(output, "50%"),
        "p99": latency(output, "99%"),
        "errors": errors,
    }


def latency(output: str, percentile: str) -> float:
    """A percentile from wrk's latency distribution, in milliseconds."""
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", output).groups()
    return float(value) * UNITS[unit]


def main(gunicorn_args: list[str]) -> None:
    """Serve both apps, drive them with wrk, print the table and the verdict on the goals."""
    workdir = Path(tempfile.mkdtemp(prefix="dockerapp-bench-"))
    redis_port, app_port, hello_port = free_port(15100), free_port(15200), free_port(15300)
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        "HOST": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", *gunicorn_args]
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, workdir, True)
        start(
            stack,
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            env,
        )
        start(stack, gunicorn, {**env, "PORT": str(app_port)})
        start(stack, [*gunicorn, "bench.hello:app"], {**env, "PORT": str(hello_port)})
        app_url, hello_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{hello_port}"
        wait_until_up(app_url + "/healthz")
        wait_until_up(hello_url)
        put = urllib.request.Request(
            app_url + "/api/v1/keys/bench",
            b'{"value": "benchmark value"}',
            {"Content-Type": "application/json"},
            method="PUT",
        )
        urllib.request.urlopen(put).close()
        rows = []
        for name, path, script in SCENARIOS:
            for connections in CONNECTIONS:
                ceiling = run_wrk(hello_url + path, connections, script)
                measured = run_wrk(app_url + path, connections, script)
                rows.append((name, connections, measured, ceiling))
                print_row(*rows[-1])
    print_goals(rows)


def print_header() -> None:
    print(f"gunicorn.conf.py, {DURATION} per point; ratio = dockerapp req/s / bare Flask req/s")
    print("| request | conns | req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")


def print_row(name: str, connections: int, measured: dict, ceiling: dict) -> None:
    ratio = measured["rps"] / ceiling["rps"]
    print(
        f"| {name} | {connections} | {measured['rps']:.0f} | {measured['p50']:.2f} | "
        f"{measured['p99']:.2f} | {measured['errors']} | {ceiling['rps']:.0f} | {ratio:.0%} |",
        flush=True,
    )


def print_goals(rows: list) -> None:
    """Issue 2's goals, each marked met or not, with the figures behind it."""

    def ratio(name: str, connections: int) -> float:
        row = next(r for r in rows if r[0] == name and r[1] == connections)
        return row[2]["rps"] / row[3]["rps"]

    at16 = [r for r in rows if r[1] == 16]
    goals = [
        (
            "GET key >= 75% of ceiling (16 conns)",
            ratio("GET key", 16) >= 0.75,
            f"{ratio('GET key', 16):.0%}",
        ),
        (
            "GET / >= 60% of ceiling (16 conns)",
            ratio("GET /", 16) >= 0.60,
            f"{ratio('GET /', 16):.0%}",
        ),
        (
            "p99 <= 25 ms at 16 conns",
            all(r[2]["p99"] <= 25 for r in at16),
            ", ".join(f"{r[0]} {r[2]['p99']:.1f} ms" for r in at16),
        ),
        (
            "zero errors",
            all(r[2]["errors"] == 0 for r in rows),
            f"{sum(r[2]['errors'] for r in rows)} errors",
        ),
        (
            ">= 2,000 req/s at 16 conns (2x the original)",
            all(r[2]["rps"] >= 2000 for r in at16),
            ", ".join(f"{r[0]} {r[2]['rps']:.0f}" for r in at16),
        ),
    ]
    print()
    for goal, met, figures in goals:
        print(f"{'MET    ' if met else 'NOT MET'} {goal}: {figures}")


if __name__ == "__main__":
    print_header()
    main(sys.argv[1:])
