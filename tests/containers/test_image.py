"""The production image: what it contains, how it runs, and how it is built."""

import json
import re
import secrets

import pytest
from conftest import BUILD_ARGS as ARGS
from conftest import PREFIX, build, get_inside, health, inspect
from conftest import remove_containers as remove

from tests.host_helpers import docker, wait_until

APP_UID = "10001"


def test_runs_as_the_fixed_non_root_uid(runtime_image):
    assert inspect(runtime_image)["Config"]["User"] == f"{APP_UID}:{APP_UID}"
    assert docker("run", "--rm", runtime_image, "id", "-u").stdout.strip() == APP_UID
    # The account, made on the build platform (Dockerfile: accounts), is the base's files plus app.
    account = docker("run", "--rm", runtime_image, "getent", "passwd", "app").stdout.strip()
    assert account == f"app:x:{APP_UID}:{APP_UID}::/nonexistent:/usr/sbin/nologin"


def test_ships_no_tests_or_test_dependencies(runtime_image):
    script = "test ! -e /app/tests && test ! -e /app/test.py && test ! -e /opt/test-packages"
    docker("run", "--rm", runtime_image, "sh", "-c", script)
    result = docker("run", "--rm", runtime_image, "python", "-c", "import pytest", check=False)
    assert "No module named 'pytest'" in result.stderr


def test_ships_no_compilers_pip_cache_or_pip_in_the_venv(runtime_image):
    # The official base image brings its own pip (outside the venv); the venv has none.
    # `command -v` fails for each missing tool, so it runs one tool at a time; the script must
    # then get to its last line, or an empty answer would mean nothing was looked at.
    script = (
        "for tool in as cc c++ clang gcc g++ ld make strip; do command -v $tool || true; done; "
        "find / -xdev -path '*/.cache/pip' && echo checked"
    )
    found = docker("run", "--rm", "--user", "0", runtime_image, "sh", "-c", script)
    assert found.stdout.split() == ["checked"]
    no_pip = docker("run", "--rm", runtime_image, "python", "-m", "pip", check=False)
    assert "No module named pip" in no_pip.stderr


def test_ships_no_unused_message_catalogs(runtime_image):
    # The builder drops WTForms' translations, which a CSRF check never shows.
    script = (
        "import pathlib, site\n"
        "packages = pathlib.Path(site.getsitepackages()[0])\n"
        "print((packages / 'wtforms').is_dir(), (packages / 'wtforms' / 'locale').exists())\n"
    )
    found = docker("run", "--rm", runtime_image, "python", "-c", script).stdout.split()
    assert found == ["True", "False"]  # WTForms is there: the check looked in the right place


# Imports what a worker imports (every module of the app, gunicorn's gthread worker), then lists
# the modules loaded from the venv and those among them without a .pyc next to them.
IMPORT_LIKE_A_WORKER = """
import importlib, pathlib, pkgutil, sys
import app, gunicorn.app.wsgiapp, gunicorn.workers.gthread
for module in pkgutil.walk_packages(app.__path__, "app."):
    importlib.import_module(module.name)
from_venv = [m for m in list(sys.modules.values())
             if (getattr(m, "__file__", None) or "").startswith("/opt/venv/")
             and m.__file__.endswith(".py")]
missing = [m.__name__ for m in from_venv if not pathlib.Path(m.__cached__).is_file()]
print(len(from_venv), sorted(missing))
"""


@pytest.mark.parametrize("image", ["runtime_image", "runtime_image_arm64"])
def test_the_dependencies_bytecode_compiled_at_build_time_is_the_bytecode_python_uses(
    image, request
):
    """Python reads a .pyc only if it matches its source (mtime and size, or hash) and was made by
    the same Python version; otherwise it recompiles, and writes a new .pyc where it can. So, as
    root on a writable copy and with writing allowed (PYTHONDONTWRITEBYTECODE unset), import what
    a worker imports: every venv module has its .pyc, and not one .pyc is written."""
    script = (
        'touch /tmp/before-imports && python -c "$0" && '
        "find /opt/venv -name '*.pyc' -newer /tmp/before-imports && echo checked"
    )
    output = docker(
        "run", "--rm", "--user", "0", "--env", "PYTHONDONTWRITEBYTECODE=",
        request.getfixturevalue(image), "sh", "-c", script, IMPORT_LIKE_A_WORKER,
    ).stdout.splitlines()  # fmt: skip
    loaded, without_bytecode = output[0].split(" ", 1)
    assert int(loaded) > 100  # Flask, Werkzeug, redis-py, gunicorn...: the imports did happen
    assert without_bytecode == "[]"
    assert output[1:] == ["checked"]  # no .pyc was written: the shipped ones were all used


def test_plain_build_gives_the_runtime_image(scratch_context):
    tags = {"runtime": f"{PREFIX}:snapshot-runtime", None: f"{PREFIX}:snapshot-default"}
    try:
        for target, tag in tags.items():
            build(tag, target=target, context=scratch_context)
        # The same layers and configuration (the attestations BuildKit adds carry a timestamp).
        assert inspect(tags[None])["RootFS"] == inspect(tags["runtime"])["RootFS"]
        assert inspect(tags[None])["Config"] == inspect(tags["runtime"])["Config"]
    finally:
        docker("rmi", *tags.values(), check=False)


def test_labels_and_version_come_from_build_args(runtime_image):
    config = inspect(runtime_image)["Config"]
    label = {name.rsplit(".", 1)[-1]: value for name, value in config["Labels"].items()}
    assert label["created"] == ARGS["CREATED"]
    assert label["revision"] == ARGS["GIT_REVISION"]
    assert label["source"] == ARGS["SOURCE_URL"]
    assert label["version"] == ARGS["VERSION"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["APP_VERSION"], env["GIT_REVISION"]) == (ARGS["VERSION"], ARGS["GIT_REVISION"])


def test_healthcheck_turns_healthy_and_healthz_reports_the_build(runtime_image):
    name = f"{PREFIX}-health"
    try:
        docker("run", "--detach", "--name", name, runtime_image)
        wait_until(lambda: health(name) == "healthy", 60, "the HEALTHCHECK to pass")
        report = json.loads(get_inside(name, "/healthz")[1])
        assert (report["version"], report["revision"]) == (ARGS["VERSION"], ARGS["GIT_REVISION"])
    finally:
        remove(name)


def test_history_has_few_layers_each_from_a_clear_step(runtime_image, python_image):
    history = ["history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}"]
    rows = docker(*history, runtime_image).stdout.splitlines()
    own_rows = rows[: len(rows) - len(docker(*history, python_image).stdout.splitlines())]
    own_layers = [row.split("\t", 1)[1] for row in own_rows if not row.startswith("0B")]
    # The user, WORKDIR /app (BuildKit records creating it), the venv, the config, the code.
    assert len(own_layers) <= 5, own_layers
    assert all(
        "COPY" in step or "useradd" in step or step.startswith("WORKDIR") for step in own_layers
    ), own_layers


def test_code_only_change_rebuilds_only_the_code_layer(runtime_image, scratch_context):
    tag = f"{PREFIX}:code-change"
    build(tag, target="runtime", context=scratch_context)
    before = inspect(tag)["RootFS"]["Layers"]
    # A change never built before: BuildKit keeps every result a step ever had, and a change
    # seen in an earlier run would match that run's whole chain of layers, not this build's.
    with (scratch_context / "app" / "__init__.py").open("a") as source:
        source.write(f"\n# a code-only change {secrets.token_hex(8)}\n")
    log = build(tag, target="runtime", context=scratch_context, progress=True).stderr
    after = inspect(tag)["RootFS"]["Layers"]
    # BuildKit's plain log names each step "#N [stage k/n] RUN ..." and, when reused, "#N CACHED".
    # The log, not the layer digests, says what ran: after any --no-cache build of the same steps
    # (make bench-image) BuildKit holds several results for a step and may reuse another one.
    steps = re.findall(r"^(#\d+) \[(?:builder|runtime) \d+/\d+\] (?!FROM )(.*)$", log, re.M)
    rebuilt = [command for number, command in steps if f"{number} CACHED" not in log.splitlines()]
    assert len(steps) >= 6 and rebuilt == ["COPY app/ app/"], log[-3000:]
    assert len(after) == len(before) and after[-1] != before[-1]
    docker("rmi", tag, check=False)


def test_test_and_dev_stages_run_as_the_app_user(scratch_context):
    tags = {target: f"{PREFIX}:stage-{target}" for target in ("test", "dev")}
    try:
        for target, tag in tags.items():
            build(tag, target=target, context=scratch_context)
            assert docker("run", "--rm", tag, "id", "-u").stdout.strip() == APP_UID
    finally:
        docker("rmi", *tags.values(), check=False)
