"""Build times of the runtime image for amd64 alone and for amd64 + arm64, in one run, as a table.

Part of `make bench-image`; also runs alone (`python3 bench/image_builds.py`). What `make
publish` pays is the two-platform build, and on an amd64 machine every step of the arm64 half
that runs programs for arm64 runs under QEMU; the goal is that it costs at most 1.5 times the
amd64-only build, measured here, in the same run, on the same machine.

- cold: `--no-cache`, so every step runs again. BuildKit's cache mounts are not layer cache and
  outlive `--no-cache`: a first, untimed build for both platforms fills them, so each cold build
  finds every wheel already downloaded and measures build work, not the network.
- network: PyPI's host names are looked up once per round and passed to the builds
  (`--add-host`; why: pinned_hosts()).
- warm: the layer cache in place and one line of app/ changed, as in a code-only commit.
- size: the runtime image as `docker image inspect` reports it for each platform (compressed
  layers, with the containerd image store).

BENCH_BUILD_ROUNDS repeats the four builds (default 3); the goal is met only if every round
meets it.
BENCH_IMAGE_SOURCE names another checkout to build instead of this one (e.g. an older commit,
for a before/after comparison); PYTHON_IMAGE and EXTRA_CA_CERTS apply as in `make build`.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "dockerapp-bench-builds:runtime"
AMD64 = "linux/amd64"
BOTH = "linux/amd64,linux/arm64"
GOAL_RATIO = 1.5
MB = 1_000_000
# The hosts a build reaches (pip and uv: PyPI's index and its files).
PACKAGE_HOSTS = ("pypi.org", "files.pythonhosted.org")


def source() -> Path:
    """The checkout whose Dockerfile and context are built."""
    return Path(os.environ.get("BENCH_IMAGE_SOURCE") or ROOT).resolve()


def copy_context(checkout: Path, target: Path) -> None:
    """The files the Dockerfile may copy (everything but .git and caches): the build context."""
    shutil.copytree(
        checkout,
        target,
        ignore=shutil.ignore_patterns(".git", ".venv", "node_modules", "__pycache__", "*.pyc"),
    )


def pinned_hosts() -> list[str]:
    """--add-host flags giving each package host the address it has now, looked up once.

    Why: on this project's machines about one lookup in fifteen waits 5 s for the resolver to
    retry (measured: 4 of 60 pairs of lookups from a container), and a two-platform build makes
    twice the lookups of a one-platform one, so the resolver, not the build, would set the
    ratio. With the addresses fixed for the whole run, both builds still fetch from PyPI over
    the network, and the figures measure the build.
    """
    flags = []
    for host in PACKAGE_HOSTS:
        address = socket.getaddrinfo(host, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        flags.append(f"--add-host={host}:{address}")
    return flags


def build(context: Path, platforms: str, *extra: str) -> float:
    """Seconds for one BuildKit build of the runtime stage, loaded into the image store."""
    base = os.environ.get("PYTHON_IMAGE")
    bundle = os.environ.get("EXTRA_CA_CERTS")
    command = ["docker", "buildx", "build", "--load", "--platform", platforms, "--target=runtime"]
    command += [f"--build-arg=PYTHON_IMAGE={base}"] if base else []
    command += ["--secret", f"id=extra_ca,src={bundle}"] if bundle else []
    command += [*extra, "-t", TAG, str(context)]
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def change_code(context: Path, round_number: int) -> None:
    """A code-only change: one comment line appended to the app's factory."""
    with (context / "app" / "__init__.py").open("a") as module:
        module.write(f"\n# code-only change {round_number}\n")


def image_size(platform: str) -> float:
    result = subprocess.run(
        ["docker", "image", "inspect", "--platform", platform, "-f", "{{.Size}}", TAG],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout) / MB


def rounds() -> int:
    """BENCH_BUILD_ROUNDS (default 3): one build of a pair can meet a load spike of its own."""
    count = int(os.environ.get("BENCH_BUILD_ROUNDS") or 3)
    if count < 1:
        raise SystemExit(f"BENCH_BUILD_ROUNDS must be 1 or more, not {count}")
    return count


def measure_round(context: Path, number: int) -> dict[str, float]:
    """One round: each platform set built cold, then warm after a code-only change."""
    figures = {}
    hosts = pinned_hosts()
    for label, platforms in (("amd64", AMD64), ("amd64+arm64", BOTH)):
        figures[f"cold {label}"] = build(context, platforms, "--no-cache", *hosts)
        change_code(context, number * 10 + len(figures))
        figures[f"warm {label}"] = build(context, platforms, *hosts)
    figures["size amd64"] = image_size("linux/amd64")
    figures["size arm64"] = image_size("linux/arm64")
    return figures


def measure(count: int) -> list[dict[str, float]]:
    """Every figure of the table, from builds of one context in this run, round after round."""
    with tempfile.TemporaryDirectory() as folder:
        context = Path(folder) / "context"
        copy_context(source(), context)
        build(context, BOTH)  # untimed: fills the cache mounts (see the module's docstring)
        results = [measure_round(context, number) for number in range(1, count + 1)]
    subprocess.run(["docker", "image", "rm", TAG], capture_output=True)
    return results


def ratio(figures: dict[str, float]) -> float:
    return figures["cold amd64+arm64"] / figures["cold amd64"]


def verdict(results: list[dict[str, float]]) -> str:
    """MET only if every round meets the goal: a median could hide a round that missed it."""
    return "MET" if all(ratio(figures) <= GOAL_RATIO for figures in results) else "NOT MET"


def report(results: list[dict[str, float]]) -> None:
    print(f"builds of the runtime image from {source()}, {len(results)} round(s)")
    rounds_header = " ".join(f"{f'round {n}':>9}" for n in range(1, len(results) + 1))
    print(f"{'figure':<20} {rounds_header}  what")
    rows = [
        ("cold amd64", "s", "--no-cache, wheels already in the cache mount"),
        ("warm amd64", "s", "layer cache in place, one line of app/ changed"),
        ("cold amd64+arm64", "s", "the same, both platforms in one build (make publish)"),
        ("warm amd64+arm64", "s", ""),
        ("size amd64", "MB", "runtime image, compressed layers"),
        ("size arm64", "MB", ""),
    ]
    for name, unit, note in rows:
        cells = " ".join(f"{figures[name]:>6.1f} {unit:<2}" for figures in results)
        print(f"{name:<20} {cells}  {note}")
    ratios = ", ".join(f"{ratio(figures):.2f}" for figures in results)
    print(f"cold amd64+arm64 / cold amd64 = {ratios} (goal <= {GOAL_RATIO} in every round): "
          f"{verdict(results)}")  # fmt: skip


def main() -> None:
    report(measure(rounds()))


if __name__ == "__main__":
    main()
