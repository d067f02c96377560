"""The Compose files: development (docker-compose.yml) and production (prod.yml)."""

import json
import os
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PREFIX, ROOT, Compose, http_body, http_status, inspect, run

from tests.host_helpers import docker, wait_until

DEV_PORT = 16030
PROD_PORT = 16010
PERSIST_PORT = 16011
RELOAD_PORT = 16031
# DOMAIN: prod.yml requires it (its Caddy's); Caddy stays off here (tests/prod-app-published.yml).
PROD_IMAGE_ENV = {"DOCKER_HUB_USER_ID": PREFIX, "TAG": "test", "DOMAIN": "dockerapp.test"}


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "prod.yml"])
def test_compose_file_is_valid(compose_file):
    run("docker", "compose", "-f", compose_file, "config", "--quiet", env=PROD_IMAGE_ENV)


def resolved(compose_file: str, **variables: str) -> dict:
    """The file as Compose resolves it (extends merged), with only `variables` set."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHON_IMAGE"}
    command = ["docker", "compose", "--env-file", os.devnull, "-f", compose_file]
    result = subprocess.run([*command, "config", "--format", "json"], env={**env, **variables},
                            capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
    return json.loads(result.stdout)


def dev_build_args(**variables: str) -> dict:
    """The build args Compose passes for docker-compose.yml when only `variables` are set."""
    return resolved("docker-compose.yml", **variables)["services"]["dockerapp"]["build"].get(
        "args", {}
    )


def test_dev_passes_python_image_only_when_set_so_the_dockerfile_default_applies():
    assert "PYTHON_IMAGE" not in dev_build_args()
    assert dev_build_args(PYTHON_IMAGE="example/python:3")["PYTHON_IMAGE"] == "example/python:3"


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "prod.yml"])
def test_redis_probes_are_quick_at_start_and_rare_after(compose_file):
    # A probe is a docker exec (~45 ms of engine CPU): every 5 s once healthy, every 250 ms while
    # starting (start_interval, Docker Engine 25+), in development and production alike.
    probe = resolved(compose_file, **PROD_IMAGE_ENV)["services"]["redis"]["healthcheck"]
    assert (probe["interval"], probe["start_interval"], probe["start_period"]) == (
        "5s",
        "250ms",
        "30s",
    )


@pytest.fixture(scope="module")
def prod_secrets(tmp_path_factory) -> Path:
    """Throwaway secret files, and a Compose file that points prod.yml's secrets at them."""
    folder = tmp_path_factory.mktemp("prod")
    for name in ("redis_password", "secret_key", "api_tokens"):
        (folder / name).write_text(secrets.token_urlsafe(32) + "\n")
    (folder / "users").write_text("")  # no one logs in here
    for name in ("redis_password", "secret_key", "api_tokens", "users"):
        (folder / name).chmod(0o644)
    override = folder / "secrets.yml"
    override.write_text(
        "secrets:\n"
        + "".join(
            f"  {name}: {{file: {folder / name}}}\n"
            for name in ("redis_password", "secret_key", "api_tokens", "users")
        )
    )
    return folder


@pytest.fixture(scope="module")
def prod_files(runtime_image, prod_secrets) -> list[str]:
    """prod.yml, running the runtime image under its production name, with the test secrets."""
    docker("tag", runtime_image, f"{PREFIX}/dockerapp:test")
    return ["prod.yml", "tests/prod-app-published.yml", str(prod_secrets / "secrets.yml")]


def prod_compose(project: str, files: list[str], port: int) -> Compose:
    env = {**PROD_IMAGE_ENV, "DOCKERAPP_ADDRESS": "127.0.0.1", "DOCKERAPP_PORT": str(port)}
    return Compose(project, files, env)


@pytest.fixture(scope="module")
def prod(prod_files):
    stack = prod_compose(f"{PREFIX}-prod", prod_files, PROD_PORT)
    stack.down()
    try:
        stack("up", "--detach", "--wait")
        yield stack
    finally:
        stack.down()


def redis_cli(stack: Compose, *args: str) -> str:
    # -e: an error reply (a wrong password, say) fails the command instead of printing as data.
    command = 'REDISCLI_AUTH="$(cat /run/secrets/redis_password)" redis-cli -e "$@"'
    return stack("exec", "-T", "redis", "sh", "-c", command, "redis-cli", *args).stdout.strip()


def test_prod_app_is_ready_with_the_password_from_its_secret_file(prod):
    url = f"http://127.0.0.1:{PROD_PORT}/readyz"
    wait_until(lambda: http_status(url) == 200, 30, "/readyz 200 (its PING needs the password)")


@pytest.mark.parametrize("service", ["dockerapp", "redis"])
def test_prod_root_filesystem_is_read_only(prod, service):
    result = prod("exec", "-T", service, "touch", "/probe", check=False)
    assert result.returncode != 0 and "Read-only file system" in result.stderr


def test_prod_app_can_write_to_its_tmpfs(prod):
    prod("exec", "-T", "dockerapp", "touch", "/tmp/probe")


@pytest.mark.parametrize("service", ["dockerapp", "redis"])
def test_prod_containers_run_as_non_root_without_capabilities(prod, service):
    uid = prod("exec", "-T", service, "id", "-u").stdout.strip()
    assert uid.isdigit() and uid != "0", uid
    status = prod("exec", "-T", service, "cat", "/proc/1/status").stdout
    assert "CapEff:\t0000000000000000" in status
    host_config = inspect(prod.container(service))["HostConfig"]
    assert host_config["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host_config["SecurityOpt"]


@pytest.mark.parametrize("service", ["dockerapp", "redis"])
def test_prod_containers_have_limits_and_rotated_logs(prod, service):
    host_config = inspect(prod.container(service))["HostConfig"]
    assert host_config["NanoCpus"] > 0 and host_config["Memory"] > 0
    assert 0 < host_config["PidsLimit"] <= 200  # CIS Docker Benchmark 5.29
    assert host_config["LogConfig"]["Config"].keys() >= {"max-size", "max-file"}
    assert host_config["RestartPolicy"]["Name"] == "unless-stopped"


def test_prod_processes_stop_at_the_pids_limit(prod):
    # The limit is enforced, not just recorded: a burst of processes past it is refused.
    script = "for i in $(seq 250); do sleep 5 & done 2>&1; wait"
    result = prod("exec", "-T", "dockerapp", "sh", "-c", script, check=False, timeout=60)
    assert (
        "fork" in (result.stdout + result.stderr).lower()
        or "resource" in (result.stdout + result.stderr).lower()
    ), result.stdout[-500:] + result.stderr[-500:]


def test_prod_redis_is_published_nowhere_and_only_on_the_internal_network(prod):
    redis = inspect(prod.container("redis"))
    assert not any(redis["NetworkSettings"]["Ports"].values())
    assert not redis["HostConfig"]["PortBindings"]
    assert list(redis["NetworkSettings"]["Networks"]) == [f"{prod.project}_back"]
    assert inspect(f"{prod.project}_back")["Internal"] is True


def test_prod_redis_is_unreachable_from_the_front_network(prod, runtime_image):
    networks = inspect(prod.container("redis"))["NetworkSettings"]["Networks"]
    address = networks[f"{prod.project}_back"]["IPAddress"]
    probe = f"import socket; socket.create_connection(('{address}', 6379), timeout=2)"
    front = f"{prod.project}_front"
    result = docker(
        "run", "--rm", "--network", front, runtime_image, "python", "-c", probe, check=False
    )
    assert result.returncode != 0
    assert any(reason in result.stderr for reason in ("timed out", "unreachable", "No route"))


def test_prod_redis_refuses_clients_without_the_password(prod):
    assert "NOAUTH" in prod("exec", "-T", "redis", "redis-cli", "ping").stdout


def test_prod_secrets_stay_out_of_docker_inspect(prod, prod_secrets):
    password = (prod_secrets / "redis_password").read_text().strip()
    for service in ("dockerapp", "redis"):
        assert password not in docker("inspect", prod.container(service)).stdout


def test_prod_redis_data_survives_sigkill_and_down_until_down_volumes(prod_files):
    stack = prod_compose(f"{PREFIX}-persist", prod_files, PERSIST_PORT)
    stack.down()
    try:
        stack("up", "--detach", "--wait")
        redis_cli(stack, "set", "persisted", "yes")
        # SIGKILL leaves Redis no time for a shutdown snapshot: only the append-only file (and
        # its write before Redis acknowledged the SET) can bring the key back.
        stack("kill", "--signal", "KILL", "redis")
        redis = stack.container("redis")
        wait_until(lambda: not inspect(redis)["State"]["Running"], 10, "Redis to die of SIGKILL")
        assert inspect(redis)["State"]["ExitCode"] == 137  # killed, not stopped
        stack("up", "--detach", "--wait")
        assert redis_cli(stack, "get", "persisted") == "yes"
        stack("down")
        stack("up", "--detach", "--wait")
        assert redis_cli(stack, "get", "persisted") == "yes"
        stack("down", "--volumes")
        stack("up", "--detach", "--wait")
        assert redis_cli(stack, "get", "persisted") == ""
    finally:
        stack.down()


@pytest.fixture(scope="module")
def dev():
    stack = Compose(f"{PREFIX}-dev", ["docker-compose.yml"], {"DOCKERAPP_PORT": str(DEV_PORT)})
    stack.down()
    stack("build")
    try:
        yield stack
    finally:
        stack.down()


def test_dev_suite_runs_in_the_container_from_a_cold_start(dev):
    dev.down()
    result = dev("run", "--rm", "dockerapp", "python", "test.py", check=False, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert inspect(dev.container("redis"))["State"]["Health"]["Status"] == "healthy"


def test_dev_stack_serves_on_localhost_only(dev):
    dev("up", "--detach", "--wait")
    assert dev("port", "dockerapp", "5000").stdout.strip() == f"127.0.0.1:{DEV_PORT}"
    wait_until(lambda: http_status(f"http://127.0.0.1:{DEV_PORT}/healthz") == 200, 30, "/healthz")


WATCH_PROBE = """
_create_app = create_app


def create_app(*args, **kwargs):  # an edit made while `docker compose watch` runs
    app = _create_app(*args, **kwargs)
    app.add_url_rule("/watch-probe", "watch_probe", lambda: "{token}")
    return app
"""


def test_watch_syncs_code_edits_and_rebuilds_when_requirements_change(scratch_context):
    for name in ("common.yml", "docker-compose.yml"):
        shutil.copy2(ROOT / name, scratch_context / name)
    env = {"DOCKERAPP_PORT": str(RELOAD_PORT), "DOCKERAPP_DEV_IMAGE": f"{PREFIX}:watch"}
    # compose watch locks its project with a PID file that it leaves behind when stopped; a
    # later run whose watcher finds that PID reused by a live process is refused ("cannot take
    # exclusive lock"). A project of its own each run cannot meet an old lock.
    project = f"{PREFIX}-watch-{secrets.token_hex(4)}"
    stack = Compose(project, [str(scratch_context / "docker-compose.yml")], env)
    url = f"http://127.0.0.1:{RELOAD_PORT}"
    watcher = None
    try:
        stack("up", "--build", "--detach", "--wait")
        first_container = stack.container("dockerapp")
        # --no-up: watch the stack just started, rather than starting (and replacing) it again.
        command = [
            "docker",
            "compose",
            "-p",
            stack.project,
            "-f",
            stack.files[0],
            "watch",
            "--no-up",
        ]
        log = scratch_context / "watch.log"
        with log.open("w") as output:
            watcher = subprocess.Popen(command, env={**os.environ, **stack.env}, stdout=output,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        wait_until(lambda: "Watch enabled" in log.read_text(), 60, "compose watch to start",
                   explain=lambda: log.read_text()[-2000:])  # fmt: skip
        token = secrets.token_hex(8)
        with (scratch_context / "app" / "__init__.py").open("a") as source:
            source.write(WATCH_PROBE.format(token=token))
        wait_until(lambda: http_body(f"{url}/watch-probe") == token, 60, "the edit to be served")
        assert stack.container("dockerapp") == first_container  # synced, not rebuilt

        with (scratch_context / "requirements-dev.txt").open("a") as requirements:
            requirements.write("# a changed requirements file\n")
        wait_until(lambda: stack.container("dockerapp") not in ("", first_container), 300,
                   "the image to be rebuilt and the container replaced")  # fmt: skip
        wait_until(
            lambda: http_body(f"{url}/watch-probe") == token, 120, "the rebuilt app to serve"
        )
    finally:
        if watcher:
            watcher.terminate()
            watcher.wait(timeout=30)
        stack.down()
        docker("rmi", f"{PREFIX}:watch", check=False)
        (Path.home() / ".docker" / "docker-compose" / f"{project}.pid").unlink(missing_ok=True)
