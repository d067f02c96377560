"""Figures from the text wrk prints with --latency (bench_http.py and containers.py read it)."""

import re
from dataclasses import dataclass

UNITS_IN_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class WrkFigures:
    """One wrk run: throughput, latency percentiles (ms), failed requests, requests served."""

    rps: float
    p50: float
    p99: float
    errors: int
    requests: int
    error_kinds: str = ""  # e.g. "timeout 3, non-2xx 1"; empty without errors


def parse(output: str) -> WrkFigures:
    """Read wrk's summary; errors are socket errors plus answers that were not a success.

    With bench/not_2xx.lua, every answer outside 2xx counts ("Not 2xx: N", which includes what
    wrk's own "Non-2xx or 3xx responses" line counts); without it, wrk's own count.
    """
    kinds = re.findall(r"(connect|read|write|timeout|Non-2xx or 3xx responses:) (\d+)", output)
    counts = {kind.removesuffix(" or 3xx responses:").lower(): int(n) for kind, n in kinds}
    not_2xx = re.search(r"^Not 2xx: (\d+)$", output, re.MULTILINE)
    if not_2xx:
        counts.pop("non-2xx", None)
        counts["not 2xx"] = int(not_2xx[1])
    return WrkFigures(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        p50=latency(output, "50%"),
        p99=latency(output, "99%"),
        errors=sum(counts.values()),
        requests=int(re.search(r"(\d+) requests in", output)[1]),
        error_kinds=", ".join(f"{kind} {n}" for kind, n in counts.items() if n),
    )


def latency(output: str, percentile: str) -> float:
    """A percentile from wrk's latency distribution, in milliseconds."""
    value, unit = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)\b", output).groups()
    return float(value) * UNITS_IN_MS[unit]
