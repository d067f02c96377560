"""Fresh production containers for the proof suite, and the summary table printed at the end.

Every test records its figure (requests, errors, cases, bytes, seconds) with the `figure`
fixture; pytest_terminal_summary prints one row per check with pass or fail. The generated
checks draw from one seed per run (`proof_seed`); a run that fails ends with the command that
replays it, after pytest's own summary line.
"""

import os
import random
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.host_helpers import docker, free_port
from tests.image_build import build_command

from .credentials import Credentials, authenticate_every_request
from .stack import SECRET_NAMES, ProdStack, write_override

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
# The suite's own image name, so it never overwrites an image someone else built or pulled.
HUB_USER, TAG = "dockerapp-proof", "proof"
# Disruptive checks run after the ones that need a quiet stack; the log scan for secrets runs
# last so it sees the error logs the faults produced.
MODULE_ORDER = (
    "test_security",
    "test_bad_input",
    "test_hostile_values",
    "test_hostile_requests",
    "test_load",
    "test_redis_faults",
    "test_app_faults",
    "test_secrets",
)

CHECKS: list[tuple[str, str]] = []  # (node id, name) in run order
FIGURES: dict[str, dict[str, object]] = {}
RESULTS: dict[str, str] = {}
LOAD_AVERAGE_AT_START = os.getloadavg()[0]
SEED = os.environ.get("PROOF_SEED") or str(secrets.randbelow(2**31))  # checked at configure
EXIT_STATUS: list[int] = []


def setting(name: str) -> str | None:
    """A build setting from the environment, else from the repo's .env (where Compose reads it)."""
    if os.environ.get(name):
        return os.environ[name]
    env_file = REPO / ".env"
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return values.get(name, "").strip() or None


def proof_port() -> int:
    """PROOF_PORT, or a free port in the proof range (19000-19999) on 127.0.0.1."""
    if os.environ.get("PROOF_PORT"):
        return int(os.environ["PROOF_PORT"])
    return free_port(random.sample(range(19000, 20000), 50))


@pytest.fixture(scope="session")
def throwaway_secrets() -> dict[str, str]:
    """Random secrets for this run; also planted in the build context as canaries."""
    return {name: secrets.token_urlsafe(32) for name in SECRET_NAMES}


@pytest.fixture(scope="session")
def proof_image(tmp_path_factory, throwaway_secrets) -> str:
    """Build the runtime image from a copy of the repo holding canary secrets.

    The copy has ./secrets/* (as `make secrets` leaves them) and a .env with the same values,
    so the image-layer check proves .dockerignore and the Dockerfile keep them out.
    """
    context = tmp_path_factory.mktemp("context") / "repo"
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "node_modules", "secrets", "__pycache__", ".*_cache", ".hypothesis"
    )
    shutil.copytree(REPO, context, ignore=ignore)
    (context / "secrets").mkdir()
    for name, value in throwaway_secrets.items():
        (context / "secrets" / name).write_text(value + "\n")
    with (context / ".env").open("a") as env_file:
        env_file.write(f"\nSECRET_KEY={throwaway_secrets['secret_key']}\n")
        env_file.write(f"REDIS_PASSWORD={throwaway_secrets['redis_password']}\n")
    image = f"{HUB_USER}/dockerapp:{TAG}"
    revision = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
    )
    build_args = {"VERSION": "proof", "GIT_REVISION": revision.stdout.strip() or "unknown"}
    if setting("PYTHON_IMAGE"):
        build_args["PYTHON_IMAGE"] = setting("PYTHON_IMAGE")
    command = build_command(image, context, target="runtime", **build_args)
    result = docker(*command[1:], timeout=900, check=False)
    assert result.returncode == 0, (
        f"image build failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return image


@pytest.fixture(scope="session")
def stack(request, tmp_path_factory, proof_image, throwaway_secrets) -> ProdStack:
    """prod.yml on fresh containers (project dockerapp-proof); `down -v` when the session ends."""
    workdir = tmp_path_factory.mktemp("stack")
    secrets_dir = workdir / "secrets"
    secrets_dir.mkdir()
    for name, value in throwaway_secrets.items():
        path = secrets_dir / name
        path.write_text(value + "\n")
        path.chmod(0o644)  # bind-mounted as is: the app's non-root user must read it
    port = proof_port()
    credentials = Credentials(secrets_dir)
    write_override(workdir / "proof.override.yml", secrets_dir)
    extra_env = {"REDIS_IMAGE": setting("REDIS_IMAGE")} if setting("REDIS_IMAGE") else {}
    prod = ProdStack(
        REPO, workdir / "proof.override.yml", HUB_USER, TAG, port, throwaway_secrets, extra_env
    )
    prod.down()  # leftovers of an interrupted run would not be fresh
    request.addfinalizer(prod.down)
    prod.credentials = credentials
    prod.up()
    prod.wait_ready()
    return prod


@pytest.fixture(autouse=True)
def authenticated_requests(request):
    """Every `requests` call of a check on the stack carries its credentials (credentials.py)."""
    if "stack" not in request.fixturenames:  # a check that needs no stack starts none
        yield
        return
    stack = request.getfixturevalue("stack")
    with pytest.MonkeyPatch.context() as monkeypatch:
        authenticate_every_request(stack.credentials, monkeypatch)
        yield


@pytest.fixture
def stack_restored(stack):
    """The stack, brought back to fully up and ready after a test that breaks it."""
    yield stack
    stack.up()
    stack.wait_ready()


def pytest_configure(config):
    """Refuse a PROOF_SEED that is not a seed, before anything is built."""
    if not SEED.isascii() or not SEED.isdecimal():
        raise pytest.UsageError(f"PROOF_SEED={SEED!r} must be a whole number")


@pytest.fixture(scope="session")
def proof_seed() -> int:
    """This run's seed, for schemathesis and hypothesis alike: PROOF_SEED=<it> replays the run."""
    return int(SEED)


@pytest.fixture
def figure(request):
    """Record this check's figures, e.g. figure(requests=..., errors=...), for the table."""
    figures = FIGURES.setdefault(request.node.nodeid, {})
    return figures.update


def is_proof(item) -> bool:
    return Path(item.path).is_relative_to(HERE)


def pytest_collection_modifyitems(items):
    """Run the proof modules in MODULE_ORDER; leave any other tests of the session alone."""

    def rank(item):
        name = item.module.__name__.rpartition(".")[2]
        return MODULE_ORDER.index(name) if is_proof(item) and name in MODULE_ORDER else -1

    items.sort(key=rank)  # stable: tests keep their file order within a module


def pytest_collection_finish(session):
    """The table's rows: the proof checks that will run (after -k and friends deselected some)."""
    CHECKS.extend((item.nodeid, check_name(item)) for item in session.items if is_proof(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped or hasattr(report, "wasxfail"):
        # A check that was skipped, or expected to fail, proved nothing: the table says which,
        # and the report turns into a failure, so the proof fails.
        if hasattr(report, "wasxfail"):
            outcome = "XFAIL" if report.skipped else "XPASS"
            reason = report.wasxfail
            del report.wasxfail
        else:
            longrepr = report.longrepr  # (file, line, reason) for a skip
            outcome, reason = "SKIP", longrepr[-1] if isinstance(longrepr, tuple) else longrepr
        RESULTS[item.nodeid] = outcome
        report.outcome = "failed"
        report.longrepr = f"{outcome} ({reason}): a proof check must run and pass"
    elif report.failed:
        RESULTS[item.nodeid] = "FAIL"
    elif report.when == "call":
        RESULTS.setdefault(item.nodeid, "pass")
    return report


def check_name(item) -> str:
    """The table's name for a check: its area and the first line of its docstring."""
    area = item.module.__name__.rpartition(".")[2].removeprefix("test_").replace("_", " ")
    doc = (item.function.__doc__ or item.name).strip().splitlines()[0].rstrip(".")
    param = f" [{item.callspec.id}]" if hasattr(item, "callspec") else ""
    return f"{area}: {doc}{param}"


def pytest_terminal_summary(terminalreporter):
    """One Markdown table: every check, its figures, pass or FAIL (copied into the README)."""
    if not CHECKS:
        return
    terminalreporter.section("proof summary")
    # On a shared machine a busy host explains slow or failing runs: say how busy it was.
    start, end = LOAD_AVERAGE_AT_START, os.getloadavg()[0]
    terminalreporter.write_line(
        f"host load average (1 min): {start:.1f} at start, {end:.1f} at end"
    )
    terminalreporter.write_line("| Check | Figure | Result |")
    terminalreporter.write_line("|---|---|---|")
    for nodeid, name in CHECKS:
        figures = ", ".join(f"{key} {value}" for key, value in FIGURES.get(nodeid, {}).items())
        result = RESULTS.get(nodeid, "not run")
        terminalreporter.write_line(f"| {name} | {figures or '-'} | {result} |")


def pytest_sessionfinish(session, exitstatus):
    EXIT_STATUS.append(exitstatus)


def pytest_unconfigure(config):
    """A failed proof run's very last line, after pytest's summary: how to replay it."""
    if CHECKS and EXIT_STATUS and EXIT_STATUS[0] != pytest.ExitCode.OK:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line(f"proof failed with seed {SEED}; replay: PROOF_SEED={SEED} make proof")
