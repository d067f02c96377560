"""Host-mode HTTP benchmark: dockerapp under its gunicorn config, with no Docker at all.

Not how users run dockerapp, and its figures never stand next to the container benchmark's
(`make bench`, bench/containers.py, docs/performance.md): it measures the Python side alone,
without the engine's networking and log driver. Run by `make bench-http`. Three servers run on
127.0.0.1 with the same gunicorn settings, next to a real redis-server: the app, the ceiling
(bench/hello.py, no Redis) and the floor (bench/floor.py: bare Flask making the app's Redis
calls and nothing else). wrk drives GET /, GET /api/v1/keys/{key} and PUT /api/v1/keys/{key}
at 1, 16 and 64 keep-alive connections, the three back to back at each point. Prints a table
and issue 2's goals; asserts nothing. Extra arguments go to gunicorn:
`python bench/bench_http.py -k sync -w 5` measures sync workers.

Besides req/s, it reports the servers' CPU time per request: on a machine shared with other
work, req/s swings with the neighbours' load while CPU per request hardly moves.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import wrk_output

# `python3 bench/<script>.py` puts bench/ first on sys.path, not the repository: add it after
# bench/ (before site-packages, whose stray `tests` packages must not shadow ours).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from tests.host_helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
DURATION = os.environ.get("BENCH_DURATION", "5s")
CONNECTIONS = (1, 16, 64)
SCENARIOS = (
    ("GET /", "/", None),
    ("GET key", "/api/v1/keys/bench", None),
    ("PUT key", "/api/v1/keys/bench", ROOT / "bench" / "put.lua"),
)


def wait_until_up(url: str, seconds: float = 20) -> None:
    """Poll `url` until it answers (bounded)."""
    answers = lambda: urllib.request.urlopen(url, timeout=1).close() or True  # noqa: E731
    wait_until(answers, seconds, f"{url} to answer", interval=0.2, retry_on=(OSError,))


def start(stack: ExitStack, command: list[str], env: dict[str, str]) -> int:
    """Start a server that the ExitStack stops (SIGTERM, then wait); returns its pid."""
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stack.callback(process.wait, 30)
    stack.callback(process.terminate)
    return process.pid


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by process `pid` and its children (the workers)."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, connections: int, script: Path | None, pid: int) -> dict:
    """One wrk run against server `pid`: req/s, p50 and p99 (ms), errors, CPU µs per request."""
    command = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{DURATION}", "--latency"]
    command += ["-s", str(script)] if script else []
    cpu_before = cpu_seconds(pid)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu_before
    figures = wrk_output.parse(output)
    return {
        "rps": figures.rps,
        "p50": figures.p50,
        "p99": figures.p99,
        "errors": figures.errors,
        "cpu_us": cpu / max(figures.requests, 1) * 1e6,
    }


def serve_and_measure(stack: ExitStack, gunicorn_args: list[str]) -> list[dict]:
    """Start Redis, the app and the ceiling; measure every point; return one row per point."""
    workdir = Path(tempfile.mkdtemp(prefix="dockerapp-bench-"))
    stack.callback(shutil.rmtree, workdir, True)
    # From 15100 up to 15999, the range of the app and its benches; one range a server.
    redis_port = free_port(range(15100, 16000))
    app_port, hello_port, floor_port = (free_port(range(x, 16000)) for x in (15200, 15300, 15400))
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "LOG_LEVEL": "INFO",  # the default: access lines cost what they cost in production
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        "HOST": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    }
    redis_server = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"]
    start(stack, [*redis_server, "--save", "", "--appendonly", "no", "--dir", str(workdir)], env)
    gunicorn = [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", *gunicorn_args]
    app_pid = start(stack, gunicorn, {**env, "PORT": str(app_port)})
    hello_pid = start(stack, [*gunicorn, "bench.hello:app"], {**env, "PORT": str(hello_port)})
    floor_pid = start(stack, [*gunicorn, "bench.floor:app"], {**env, "PORT": str(floor_port)})
    app_url, hello_url = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{hello_port}"
    floor_url = f"http://127.0.0.1:{floor_port}"
    wait_until_up(app_url + "/healthz")
    wait_until_up(hello_url)
    wait_until_up(floor_url)
    body, headers = b'{"value": "benchmark value"}', {"Content-Type": "application/json"}
    urllib.request.urlopen(
        urllib.request.Request(app_url + SCENARIOS[1][1], body, headers, method="PUT")
    ).close()
    rows = []
    for name, path, script in SCENARIOS:
        for connections in CONNECTIONS:
            ceiling = run_wrk(hello_url + path, connections, script, hello_pid)
            floor = run_wrk(floor_url + path, connections, script, floor_pid)
            app = run_wrk(app_url + path, connections, script, app_pid)
            rows.append(
                {"name": name, "connections": connections, "app": app, "ceiling": ceiling,
                 "floor": floor}
            )  # fmt: skip
            print_row(rows[-1])
    return rows


def print_row(row: dict) -> None:
    """One line of the Markdown table."""
    app, ceiling, floor = row["app"], row["ceiling"], row["floor"]
    print(
        f"| {row['name']} | {row['connections']} | {app['rps']:.0f} | {app['p50']:.2f} | "
        f"{app['p99']:.2f} | {app['errors']} | {ceiling['rps']:.0f} | "
        f"{app['rps'] / ceiling['rps']:.0%} | {floor['rps'] / ceiling['rps']:.0%} | "
        f"{app['rps'] / floor['rps']:.0%} | "
        f"{app['cpu_us']:.0f} / {floor['cpu_us']:.0f} / {ceiling['cpu_us']:.0f} |",
        flush=True,
    )


def print_goals(rows: list[dict]) -> None:
    """Issue 2's goals, each marked met or not, with the figures behind it."""

    def ratios(name: str, server: str = "app") -> list[float]:
        return [r[server]["rps"] / r["ceiling"]["rps"] for r in rows if r["name"] == name]

    def percentages(values: list[float]) -> str:
        return " / ".join(f"{value:.0%}" for value in values)

    at16 = [r for r in rows if r["connections"] == 16]
    goals = [
        ("GET key >= 75% of the ceiling", min(ratios("GET key")) >= 0.75,
         f"{percentages(ratios('GET key'))} at 1/16/64 conns "
         f"(the floor: {percentages(ratios('GET key', 'floor'))})"),
        ("GET / >= 60% of the ceiling", min(ratios("GET /")) >= 0.60,
         f"{percentages(ratios('GET /'))} at 1/16/64 conns "
         f"(the floor: {percentages(ratios('GET /', 'floor'))})"),
        ("p99 <= 25 ms at 16 conns", all(r["app"]["p99"] <= 25 for r in at16),
         ", ".join(f"{r['name']} {r['app']['p99']:.1f} ms" for r in at16)),
        ("zero errors", all(r["app"]["errors"] == 0 for r in rows),
         f"{sum(r['app']['errors'] for r in rows)} errors"),
    ]  # fmt: skip
    print()
    for goal, met, figures in goals:
        print(f"{'MET    ' if met else 'NOT MET'} {goal}: {figures}")
    cpu = ", ".join(f"{r['name']} {r['ceiling']['cpu_us'] / r['app']['cpu_us']:.0%}" for r in at16)
    print(f"CPU-based ratio at 16 conns (ceiling CPU/request over the app's): {cpu}")


def main() -> None:
    """Print the table, then the goals; the load average shows how busy the machine was."""
    print(f"gunicorn.conf.py {' '.join(sys.argv[1:])}; {DURATION} per point")
    print("ratio: app / ceiling (bare Flask); floor: bare Flask doing only the contract's work")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("| request | conns | req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio", end="")
    print(" | floor's ratio | app/floor | CPU µs/req app / floor / ceiling |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    with ExitStack() as stack:
        rows = serve_and_measure(stack, sys.argv[1:])
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print_goals(rows)


if __name__ == "__main__":
    main()
