"""Image and container-lifecycle figures for dockerapp, printed as a table against the goals.

Run by `make bench-image`. Each figure is measured once, in this run, with the docker CLI: the
runtime image's size and its size over the base image, a cold build (no cache), a rebuild after a
code-only change; for docker-compose.yml and for prod.yml, `docker compose up -d` to the first 200
and to healthy, and `docker compose stop dockerapp`; the in-container test run
(`docker compose run --rm dockerapp python test.py`); and what one healthcheck probe (a
`docker exec`) costs the engine in CPU, which sets how often Compose can afford to probe. Base
images come from PYTHON_IMAGE and REDIS_IMAGE when set. A second table (image_builds.py) gives
cold and warm build times for amd64 alone and for amd64 + arm64.
"""

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import image_builds
from cpu_usage import TICKS_PER_SECOND, engine_ticks

# `python3 bench/<script>.py` puts bench/ first on sys.path, not the repository: add it after
# bench/ (before site-packages, whose stray `tests` packages must not shadow ours).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from tests.host_helpers import wait_until

ROOT = Path(__file__).resolve().parents[1]
NAME = "dockerapp-containers-bench"
PORT = 16060  # the containers area's port range, on 127.0.0.1 only
CONTEXT = [".dockerignore", "Dockerfile", "app", "gunicorn.conf.py", "pyproject.toml",
           "requirements-build.txt", "requirements-dev.txt", "requirements.txt", "test.py",
           "tests/app"]  # fmt: skip
MB = 1_000_000


def run(*args: str, env: dict | None = None, cwd: Path = ROOT) -> str:
    result = subprocess.run(
        args, capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}
    )
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        )
    return result.stdout


def pinned(path: str, pattern: str) -> str:
    """The official image a project file pins: each pin lives in one place (renovate.json)."""
    return re.search(pattern, (ROOT / path).read_text(), re.M)[1]


def timed(*args: str, **kwargs) -> float:
    start = time.monotonic()
    run(*args, **kwargs)
    return time.monotonic() - start


def build(context: Path, tag: str, *extra: str) -> float:
    base = (
        [f"--build-arg=PYTHON_IMAGE={os.environ['PYTHON_IMAGE']}"]
        if os.environ.get("PYTHON_IMAGE")
        else []
    )
    # BuildKit; pip may need the CA bundle of a TLS-intercepting proxy, as a secret (never a layer).
    bundle = os.environ.get("EXTRA_CA_CERTS")
    secret = ["--secret", f"id=extra_ca,src={bundle}"] if bundle else []
    return timed("docker", "build", *base, *secret, *extra, "--target=runtime", "-t", tag,
                 str(context))  # fmt: skip


def image_size(tag: str) -> int:
    return int(run("docker", "image", "inspect", "-f", "{{.Size}}", tag))


def answers_200() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def is_healthy(container: str) -> bool:
    return (
        run("docker", "inspect", "-f", "{{.State.Health.Status}}", container).strip() == "healthy"
    )


def copy_context(target: Path) -> None:
    for name in CONTEXT:
        source = ROOT / name
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


def image_figures(workdir: Path) -> dict[str, float]:
    tag = f"{NAME}:runtime"
    context = workdir / "context"
    copy_context(context)
    cold = build(context, tag, "--no-cache")
    base = os.environ.get("PYTHON_IMAGE") or pinned("Dockerfile", r"^ARG PYTHON_IMAGE=(\S+)")
    with (context / "app" / "__init__.py").open("a") as source:
        source.write("\n# a code-only change\n")
    rebuild = build(context, tag)
    return {"size": image_size(tag) / MB, "over base": (image_size(tag) - image_size(base)) / MB,
            "cold build": cold, "code-only rebuild": rebuild}  # fmt: skip


def lifecycle(compose: list[str], env: dict[str, str], label: str) -> dict[str, float]:
    """`up -d` to the first 200 and to healthy, then `stop dockerapp`, on a fresh project."""
    figures = {}
    try:
        start = time.monotonic()
        run(*compose, "up", "--detach", env=env)
        container = run(*compose, "ps", "--quiet", "dockerapp", env=env).strip()
        wait_until(answers_200, 60, "/healthz to answer 200", interval=0.05)
        figures[f"up to first 200 ({label})"] = time.monotonic() - start
        wait_until(lambda: is_healthy(container), 60, f"{label} to be healthy", interval=0.05)
        figures[f"up to healthy ({label})"] = time.monotonic() - start
        figures[f"stop dockerapp ({label})"] = timed(*compose, "stop", "dockerapp", env=env)
    finally:
        subprocess.run(
            [*compose, "down", "--volumes"], capture_output=True, env={**os.environ, **env}
        )
    return figures


def compose_figures(workdir: Path) -> dict[str, float]:
    names = ("redis_password", "secret_key", "api_tokens", "users")
    for name in names:
        (workdir / name).write_text("" if name == "users" else secrets.token_urlsafe(32))
        (workdir / name).chmod(0o644)
    (workdir / "secrets.yml").write_text(
        "secrets:\n" + "".join(f"  {name}: {{file: {workdir / name}}}\n" for name in names)
    )
    run("docker", "tag", f"{NAME}:runtime", f"{NAME}/dockerapp:bench")
    env = {"DOCKER_HUB_USER_ID": NAME, "TAG": "bench", "DOCKERAPP_ADDRESS": "127.0.0.1",
           "DOCKERAPP_PORT": str(PORT), "DOMAIN": "dockerapp.test"}  # fmt: skip
    dev = ["docker", "compose", "-p", f"{NAME}-dev", "-f", "docker-compose.yml"]
    prod = [
        "docker",
        "compose",
        "-p",
        f"{NAME}-prod",
        "-f",
        "prod.yml",
        "-f",
        "tests/prod-app-published.yml",  # the app's own port, without the Caddy edge
        "-f",
        str(workdir / "secrets.yml"),
    ]
    run(*dev, "build", env=env)
    figures = lifecycle(dev, env, "dev") | lifecycle(prod, env, "prod")
    try:
        start = time.monotonic()
        suite = subprocess.run(
            [*dev, "run", "--rm", "dockerapp", "python", "test.py"], capture_output=True
        )
        figures["in-container tests"] = time.monotonic() - start
        if suite.returncode != 0:  # a figure all the same, but say so
            print(f"note: the in-container test run exited with {suite.returncode}")
    finally:
        subprocess.run([*dev, "down", "--volumes"], capture_output=True)
    return figures


def probe_cost(probes: int = 20) -> dict[str, float]:
    """Engine CPU per run of the Redis healthcheck's command, as Docker runs it (an exec)."""
    container = f"{NAME}-probe"
    image = os.environ.get("REDIS_IMAGE") or pinned("common.yml", r"\$\{REDIS_IMAGE:-([^}]+)\}")
    run("docker", "run", "--detach", "--name", container, image)
    try:
        time.sleep(1)
        before = engine_ticks(with_reaped_children=True)
        for _ in range(probes):
            run("docker", "exec", container, "sh", "-c", "redis-cli ping | grep -q PONG")
        after = engine_ticks(with_reaped_children=True)
        # Processes that came or went meanwhile (other containers' shims) are left out.
        used = sum(after[pid] - before[pid] for pid in before.keys() & after.keys())
        return {"healthcheck probe": used / TICKS_PER_SECOND / probes * 1000}
    finally:
        subprocess.run(["docker", "rm", "--force", container], capture_output=True)


GOALS = [  # (figure, unit, goal or None, note)
    ("size", "MB", None, "runtime image"),
    ("over base", "MB", 15, "app layers over the Python base"),
    ("cold build", "s", None, "--no-cache, dependencies from PyPI"),
    ("code-only rebuild", "s", 2, "one line changed in app/"),
    ("up to first 200 (dev)", "s", 2, "`docker compose up -d` until /healthz answers 200"),
    ("up to healthy (dev)", "s", 10, "... until the HEALTHCHECK reports healthy"),
    ("stop dockerapp (dev)", "s", 3, "`docker compose stop dockerapp`"),
    ("up to first 200 (prod)", "s", 2, "`-f prod.yml`: Redis probed every 5 s, see docs"),
    ("up to healthy (prod)", "s", 10, ""),
    ("stop dockerapp (prod)", "s", 3, ""),
    ("in-container tests", "s", None, "`compose run --rm dockerapp python test.py`, cold Redis"),
    ("healthcheck probe", "ms", None, "engine CPU per probe (a docker exec of redis-cli ping)"),
]


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        try:
            figures = image_figures(Path(folder)) | compose_figures(Path(folder)) | probe_cost()
        finally:
            subprocess.run(
                ["docker", "rmi", f"{NAME}:runtime", f"{NAME}/dockerapp:bench"], capture_output=True
            )
    print(f"{'figure':<24} {'measured':>10} {'goal':>8}  {'met':<4} what")
    for name, unit, goal, note in GOALS:
        value = figures[name]
        met = "-" if goal is None else ("yes" if value <= goal else "NO")
        goal_text = "-" if goal is None else f"<= {goal} {unit}"
        print(f"{name:<24} {value:>7.1f} {unit:<2} {goal_text:>8}  {met:<4} {note}")
    print()
    image_builds.main()


if __name__ == "__main__":
    main()
