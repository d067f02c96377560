"""The tables and the goals that bench/containers.py prints, as Markdown."""

import os

from servers import ACCESS_LINE_PAIR

# Each stack, and the floor and ceiling that ran under its server settings.
STACKS = {
    "dev stack": ("floor", "ceiling"),
    "prod.yml": ("floor, prod limits", "ceiling, prod limits"),
}
GOAL_CONNECTIONS = (16, 64)
ORIGINAL = ("original", "GET /")  # the original has no API: every comparison is with its page


def load_average() -> str:
    """The 1-minute load average and the CPU count: how busy the machine was."""
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"


def per_request(cores: float, rps: float) -> float:
    """CPU microseconds per request from a CPU rate (in cores) and a request rate."""
    return cores / rps * 1e6 if rps else 0.0


def print_header() -> None:
    print(
        "| request | conns | server | req/s | p50 ms | p99 ms | errors | CPU µs/req server "
        "| CPU µs/req Redis | engine, % of a core | machine busy | stolen |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def print_point(request: str, connections: int, name: str, point: dict) -> None:
    """One row: the server's figures at one point."""
    wrk, cpu = point["wrk"], point["cpu"]
    print(
        f"| {request} | {connections} | {name} | {wrk.rps:.0f} | {wrk.p50:.2f} | {wrk.p99:.2f} | "
        f"{wrk.errors}{f' ({wrk.error_kinds})' if wrk.errors else ''} | "
        f"{per_request(cpu.server_cores, wrk.rps):.0f} | "
        f"{per_request(cpu.redis_cores, wrk.rps):.0f} | {cpu.engine_cores:.0%} | "
        f"{cpu.machine_busy:.0%} | {cpu.stolen:.0%} |",
        flush=True,
    )


def print_comparison(results: dict, connections: tuple[int, ...]) -> None:
    """dockerapp's figures as ratios to the references of the same run and point."""
    print("\ndockerapp against the references: the original's GET / (the only page it has),")
    print("and the floor and ceiling under the stack's own server settings")
    print(
        "| request | conns | stack | req/s | p99 ms | x original | of the floor | of the ceiling"
        " | CPU µs/req app / floor / ceiling |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for request in ("GET /", "GET key"):
        for count in connections:
            for stack, (floor, ceiling) in STACKS.items():
                app = results[stack, request, count]
                original = results[(*ORIGINAL, count)]["wrk"]
                floor_point = results[floor, request, count]
                ceiling_point = results[ceiling, "GET /", count]
                cpu = [
                    per_request(p["cpu"].server_cores, p["wrk"].rps)
                    for p in (app, floor_point, ceiling_point)
                ]
                print(
                    f"| {request} | {count} | {stack} | {app['wrk'].rps:.0f} | "
                    f"{app['wrk'].p99:.2f} | {app['wrk'].rps / original.rps:.2f} | "
                    f"{app['wrk'].rps / floor_point['wrk'].rps:.0%} | "
                    f"{app['wrk'].rps / ceiling_point['wrk'].rps:.0%} | "
                    f"{cpu[0]:.0f} / {cpu[1]:.0f} / {cpu[2]:.0f} |"
                )


def print_access_line_cost(results: dict, connections: tuple[int, ...]) -> None:
    """The same image, limits, network and Redis, with and without access lines, and the floor."""
    print("\nWhat the access line costs: dockerapp's image with prod.yml's limits, run next to")
    print("the references with and without it (LOG_LEVEL=WARNING), and the floor, same limits")
    print("| request | conns | server | req/s | of the floor | CPU µs/req server | engine µs/req |")
    print("|---|---:|---|---:|---:|---:|---:|")
    names = tuple(name for name, _, _ in ACCESS_LINE_PAIR)
    floor_name = STACKS["prod.yml"][0]
    for request in ("GET /", "GET key"):
        for count in connections:
            floor = results[floor_name, request, count]["wrk"].rps
            for name in (*names, floor_name):
                wrk, cpu = (results[name, request, count][part] for part in ("wrk", "cpu"))
                print(
                    f"| {request} | {count} | {name} | {wrk.rps:.0f} | {wrk.rps / floor:.0%} | "
                    f"{per_request(cpu.server_cores, wrk.rps):.0f} | "
                    f"{per_request(cpu.engine_cores, wrk.rps):.0f} |"
                )


def print_goals(results: dict) -> None:
    """Issue 11's goals for each stack, each marked met or not, with the figures behind it."""
    rps = {key: point["wrk"].rps for key, point in results.items()}
    original = {count: rps[(*ORIGINAL, count)] for count in GOAL_CONNECTIONS}
    at = " at 16 / 64 conns"
    print()
    for stack, (floor, _) in STACKS.items():
        goals = []
        for request, times in (("GET key", 2.0), ("GET /", 1.5)):
            ratios = [rps[stack, request, c] / original[c] for c in GOAL_CONNECTIONS]
            figures = " / ".join(f"{ratio:.2f}x" for ratio in ratios) + at
            goals.append((f"{request} >= {times:g}x the original's GET /", ratios, times, figures))
        for request, share in (("GET key", 0.90), ("GET /", 0.85)):
            ratios = [rps[stack, request, c] / rps[floor, request, c] for c in GOAL_CONNECTIONS]
            figures = " / ".join(f"{ratio:.0%}" for ratio in ratios) + at
            goals.append((f"{request} >= {share:.0%} of the floor", ratios, share, figures))
        original_p99 = results[(*ORIGINAL, 16)]["wrk"].p99
        at16 = {request: results[stack, request, 16]["wrk"].p99 for request in ("GET /", "GET key")}
        figures = ", ".join(f"{request} {p99:.1f} ms" for request, p99 in at16.items())
        headroom = [original_p99 / p99 for p99 in at16.values()]  # >= 1: no worse than the original
        goals.append(
            (
                "p99 at 16 conns <= the original's",
                headroom,
                1.0,
                f"{figures} (the original: {original_p99:.1f} ms)",
            )
        )
        errors = sum(point["wrk"].errors for key, point in results.items() if key[0] == stack)
        goals.append(("zero errors", [1.0 if errors == 0 else 0.0], 1.0, f"{errors} errors"))
        for goal, ratios, threshold, figures in goals:
            met = "MET    " if min(ratios) >= threshold else "NOT MET"
            print(f"{met} {stack}: {goal}: {figures}")
