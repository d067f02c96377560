"""The production image: what it contains, how it runs, and how it is built."""

import json

from conftest import BUILD_ARGS, PREFIX, build, docker, health, image_id, inspect, remove_containers, wait_until

APP_UID = "10001"


def test_runs_as_the_fixed_non_root_uid(runtime_image):
    assert inspect(runtime_image)["Config"]["User"] == f"{APP_UID}:{APP_UID}"
    assert docker("run", "--rm", runtime_image, "id", "-u").stdout.strip() == APP_UID


def test_ships_no_tests_or_test_dependencies(runtime_image):
    script = "test ! -e /app/tests && test ! -e /app/test.py && test ! -e /opt/test-packages"
    docker("run", "--rm", runtime_image, "sh", "-c", script)
    result = docker("run", "--rm", runtime_image, "python", "-c", "import pytest", check=False)
    assert "No module named 'pytest'" in result.stderr


def test_ships_no_compilers_pip_cache_or_pip_in_the_venv(runtime_image):
    script = "command -v cc c++ clang gcc g++ make pip; find / -xdev -path '*/.cache/pip'"
    found = docker("run", "--rm", "--user", "0", runtime_image, "sh", "-c", script, check=False)
    assert found.stdout.split() == []
    no_pip = docker("run", "--rm", runtime_image, "python", "-m", "pip", check=False)
    assert "No module named pip" in no_pip.stderr


def test_ships_no_extra_ca_certificate(runtime_image):
    script = "find / -xdev \\( -name 'extra-ca.pem' -o -path '/build*' \\) -print"
    assert docker("run", "--rm", "--user", "0", runtime_image, "sh", "-c", script).stdout.split() == []


def test_plain_build_gives_the_runtime_image(runtime_image):
    tag = f"{PREFIX}:default"
    build(tag)
    assert image_id(tag) == image_id(runtime_image)


def test_labels_and_version_come_from_build_args(runtime_image):
    config = inspect(runtime_image)["Config"]
    labels = {name.removeprefix("org.opencontainers.image."): value for name, value in config["Labels"].items()}
    assert labels["created"] == BUILD_ARGS["CREATED"]
    assert labels["revision"] == BUILD_ARGS["GIT_REVISION"]
    assert labels["source"] == BUILD_ARGS["SOURCE_URL"]
    assert labels["version"] == BUILD_ARGS["VERSION"]
    env = dict(item.split("=", 1) for item in config["Env"])
    assert (env["APP_VERSION"], env["GIT_REVISION"]) == (BUILD_ARGS["VERSION"], BUILD_ARGS["GIT_REVISION"])


def test_healthcheck_turns_healthy_and_healthz_reports_the_build(runtime_image):
    name = f"{PREFIX}-health"
    try:
        docker("run", "--detach", "--name", name, runtime_image)
        wait_until(lambda: health(name) == "healthy", 60, "the HEALTHCHECK to pass")
        body = docker("exec", name, "python", "-c", HEALTHZ_BODY).stdout
        report = json.loads(body)
        assert (report["version"], report["revision"]) == (BUILD_ARGS["VERSION"], BUILD_ARGS["GIT_REVISION"])
    finally:
        remove_containers(name)


HEALTHZ_BODY = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:5000/healthz').read().decode())"


def test_history_has_few_layers_each_from_a_clear_step(runtime_image, python_image):
    rows = docker("history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", runtime_image).stdout.splitlines()
    base_rows = docker("history", "--quiet", python_image).stdout.splitlines()
    own_layers = [row.split("\t", 1)[1] for row in rows[: len(rows) - len(base_rows)] if not row.startswith("0B")]
    assert len(own_layers) <= 4, own_layers
    assert all("COPY" in step or "useradd" in step for step in own_layers), own_layers


def test_code_only_change_rebuilds_only_the_code_layer(runtime_image, scratch_context):
    tag = f"{PREFIX}:code-change"
    build(tag, target="runtime", context=scratch_context)
    before = inspect(tag)["RootFS"]["Layers"]
    with (scratch_context / "app" / "__init__.py").open("a") as source:
        source.write("\n# a code-only change\n")
    steps = build(tag, target="runtime", context=scratch_context).stdout.split("\nStep ")
    after = inspect(tag)["RootFS"]["Layers"]
    install_step = next(step for step in steps if "pip install" in step)
    assert "Using cache" in install_step
    assert after[:-1] == before[:-1]
    assert after[-1] != before[-1]
    docker("rmi", tag, check=False)


def test_buildkit_builds_the_same_stages(runtime_image):
    for target in ("runtime", "test"):
        tag = f"{PREFIX}:buildkit-{target}"
        build(tag, target=target, buildkit=True)
        assert docker("run", "--rm", tag, "id", "-u").stdout.strip() == APP_UID
        docker("rmi", tag, check=False)
