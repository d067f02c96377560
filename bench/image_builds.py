"""Build times of the runtime image for amd64 alone and for amd64 + arm64, in one run, as a table.

Part of `make bench-image`; also runs alone (`python3 bench/image_builds.py`). What `make
publish` pays is the two-platform build, and on an amd64 machine every step of the arm64 half
that runs programs for arm64 runs under QEMU; the goal is that it costs at most 1.5 times the
amd64-only build, measured here, in the same run, on the same machine.

- cold: `--no-cache`, so every step runs again. BuildKit's cache mounts are not layer cache and
  outlive `--no-cache`: a first, untimed build for both platforms fills them, so each cold build
  finds every wheel already downloaded and measures build work, not the network.
- warm: the layer cache in place and one line of app/ changed, as in a code-only commit.
- size: the runtime image as `docker image inspect` reports it for each platform (compressed
  layers, with the containerd image store).

BENCH_IMAGE_SOURCE names another checkout to build instead of this one (e.g. an older commit,
for a before/after comparison); PYTHON_IMAGE and EXTRA_CA_CERTS apply as in `make build`.
"""

import os
import shutil
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


def measure() -> dict[str, float]:
    """Every figure of the table, from builds of one context in this run."""
    figures = {}
    with tempfile.TemporaryDirectory() as folder:
        context = Path(folder) / "context"
        copy_context(source(), context)
        build(context, BOTH)  # untimed: fills the cache mounts (see the module's docstring)
        for label, platforms in (("amd64", AMD64), ("amd64+arm64", BOTH)):
            figures[f"cold {label}"] = build(context, platforms, "--no-cache")
            change_code(context, len(figures))
            figures[f"warm {label}"] = build(context, platforms)
        figures["size amd64"] = image_size("linux/amd64")
        figures["size arm64"] = image_size("linux/arm64")
    subprocess.run(["docker", "image", "rm", TAG], capture_output=True)
    return figures


def report(figures: dict[str, float]) -> None:
    print(f"builds of the runtime image from {source()}")
    print(f"{'figure':<20} {'measured':>10}  what")
    rows = [
        ("cold amd64", "s", "--no-cache, wheels already in the cache mount"),
        ("warm amd64", "s", "layer cache in place, one line of app/ changed"),
        ("cold amd64+arm64", "s", "the same, both platforms in one build (make publish)"),
        ("warm amd64+arm64", "s", ""),
        ("size amd64", "MB", "runtime image, compressed layers"),
        ("size arm64", "MB", ""),
    ]
    for name, unit, note in rows:
        print(f"{name:<20} {figures[name]:>7.1f} {unit:<2}  {note}")
    ratio = figures["cold amd64+arm64"] / figures["cold amd64"]
    verdict = "MET" if ratio <= GOAL_RATIO else "NOT MET"
    print(f"cold amd64+arm64 / cold amd64 = {ratio:.2f} (goal <= {GOAL_RATIO}): {verdict}")


def main() -> None:
    report(measure())


if __name__ == "__main__":
    main()
