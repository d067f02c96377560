"""The tables and the goals that bench/containers.py prints, as Markdown."""

import os
from dataclasses import dataclass

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


@dataclass
class Goal:
    """One of issue 22's goals for one stack: met or not, and the figures of every round."""

    stack: str
    name: str
    met: bool
    figures: str


def judge(measured: dict, rounds: int) -> list[Goal]:
    """Issue 22's goals for each stack, from every round: a goal is met only if every round of
    every point it covers meets it (not the median round alone). `measured` maps (server,
    request, connections) to the list of that point's figures, one per round, in round order."""
    goals = []
    missing = [c for c in GOAL_CONNECTIONS if (*ORIGINAL, c) not in measured]
    for stack in STACKS:
        if missing:
            figures = f"{' and '.join(map(str, missing))} connections not measured"
            goals.append(Goal(stack, "all goals", False, figures))
            continue

        def each_round(server: str, request: str, count: int, figure: str) -> list[float]:
            points = measured[server, request, count]
            return [getattr(points[r]["wrk"], figure) for r in range(rounds)]

        for request, times in (("GET /", 1.5), ("GET key", 2.0)):
            met, parts = True, []
            for count in GOAL_CONNECTIONS:
                app = each_round(stack, request, count, "rps")
                original = each_round(*ORIGINAL, count, "rps")
                ratios = [mine / theirs for mine, theirs in zip(app, original, strict=True)]
                met = met and min(ratios) >= times
                parts.append(f"{' / '.join(f'{r:.2f}x' for r in ratios)} at {count} conns")
            name = f"{request} >= {times:g}x the original's GET /"
            goals.append(Goal(stack, name, met, "; ".join(parts)))
        original_p99 = each_round(*ORIGINAL, 16, "p99")
        met, parts = True, []
        for request in ("GET /", "GET key"):
            p99 = each_round(stack, request, 16, "p99")
            pairs = zip(p99, original_p99, strict=True)
            met = met and all(mine <= theirs for mine, theirs in pairs)
            parts.append(f"{request} {' / '.join(f'{ms:.1f}' for ms in p99)} ms")
        original_figures = " / ".join(f"{ms:.1f}" for ms in original_p99)
        figures = f"{', '.join(parts)} (the original: {original_figures} ms)"
        goals.append(Goal(stack, "p99 at 16 conns <= the original's", met, figures))
        errors = [0] * rounds
        for (server, _, _), points in measured.items():
            if server == stack:
                for r in range(rounds):
                    errors[r] += points[r]["wrk"].errors
        figures = f"{' / '.join(map(str, errors))} errors"
        goals.append(Goal(stack, "zero errors in every round", not any(errors), figures))
    return goals


def print_goals(measured: dict, rounds: int) -> None:
    """Issue 22's goals, each MET or NOT MET, with each round's figures (round 1 / 2 / ...)."""
    print(f"\nIssue 22's goals; figures per round (1 / 2 / ... of {rounds}); MET: every round")
    for goal in judge(measured, rounds):
        print(f"{'MET    ' if goal.met else 'NOT MET'} {goal.stack}: {goal.name}: {goal.figures}")
