"""stack.yml as Docker Swarm reads it (`docker stack config`, no daemon needed).

`make swarm-test` deploys it on a real 3-node swarm; these checks are the fast, static half.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEST_OVERRIDE = ROOT / "tests" / "swarm" / "stack.test.yml"
RELEASE = {"DOCKERAPP_IMAGE": "someone/dockerapp@sha256:" + "0123456789abcdef" * 4}


def stack_config(*files: Path, **variables: str) -> subprocess.CompletedProcess:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("DOCKERAPP_IMAGE", "DOCKER_HUB_USER_ID", "TAG", "REDIS_IMAGE")
    }
    command = ["docker", "stack", "config"]
    for file in files:
        command += ["-c", str(file)]
    return subprocess.run(
        command, env={**environment, **variables}, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def stack() -> dict:
    result = stack_config(ROOT / "stack.yml", **RELEASE)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_stack_file_needs_the_image_by_digest():
    result = stack_config(ROOT / "stack.yml", DOCKER_HUB_USER_ID="someone", TAG="abc")
    assert result.returncode != 0
    assert "DOCKERAPP_IMAGE" in result.stderr


REDIS_SERVICES = ["redis-1", "redis-2", "redis-3"]
SENTINEL_SERVICES = ["sentinel-1", "sentinel-2", "sentinel-3"]


def test_app_runs_the_published_image_and_redis_the_pinned_official_one(stack):
    services = stack["services"]
    assert services["dockerapp"]["image"] == RELEASE["DOCKERAPP_IMAGE"]
    for name in REDIS_SERVICES + SENTINEL_SERVICES:
        assert services[name]["image"] == "redis:8.6.2-trixie"


def test_app_updates_start_first_and_roll_back_on_failure(stack):
    deploy = stack["services"]["dockerapp"]["deploy"]
    assert deploy["replicas"] == 3
    assert deploy["update_config"]["order"] == "start-first"
    assert deploy["update_config"]["failure_action"] == "rollback"
    assert deploy["rollback_config"]["order"] == "start-first"
    assert deploy["restart_policy"]["condition"] == "any"


def test_app_gets_longer_to_stop_than_gunicorn_needs_to_finish_requests(stack):
    gunicorn_settings = (ROOT / "gunicorn.conf.py").read_text()
    (graceful,) = re.findall(r"^graceful_timeout = (\d+)", gunicorn_settings, re.MULTILINE)
    grace_period = re.fullmatch(r"(\d+)s", stack["services"]["dockerapp"]["stop_grace_period"])
    assert int(grace_period[1]) > int(graceful)


def runtime_stage_healthcheck() -> str:
    """The HEALTHCHECK of the Dockerfile's runtime stage (the image releases ship), one line."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    (runtime,) = re.findall(r"^FROM \S+ AS runtime\n(.*?)(?=^FROM |\Z)", dockerfile, re.M | re.S)
    found = re.findall(r"^HEALTHCHECK .*", runtime, re.M)
    assert len(found) == 1, f"the runtime stage has {len(found)} HEALTHCHECK instructions"
    return found[0]


def test_app_uses_the_images_healthcheck(stack):
    # The image checks /healthz, nothing after the runtime stage turns that off, and stack.yml
    # neither replaces nor disables it (`healthcheck: {disable: true}` would show here too).
    healthcheck = runtime_stage_healthcheck()
    assert re.search(r" CMD \[.*/healthz", healthcheck), healthcheck
    assert "HEALTHCHECK NONE" not in (ROOT / "Dockerfile").read_text()
    assert "healthcheck" not in stack["services"]["dockerapp"]


def test_every_service_has_resource_limits_and_reservations(stack):
    for service in stack["services"].values():
        resources = service["deploy"]["resources"]
        assert set(resources["reservations"]) == {"cpus", "memory"}
        # pids too (CIS Docker Benchmark 5.29): a fork bomb stops at the limit.
        assert set(resources["limits"]) == {"cpus", "memory", "pids"}
        assert 0 < resources["limits"]["pids"] <= 200


def test_app_gets_its_secrets_from_docker_secrets(stack):
    app = stack["services"]["dockerapp"]
    assert {secret["source"] for secret in app["secrets"]} == {
        "redis_password", "secret_key", "api_tokens", "users"
    }  # fmt: skip
    assert app["environment"]["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"
    assert app["environment"]["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert app["environment"]["APP_ENV"] == "production"


def test_app_carries_the_credentials_contract(stack):
    environment = stack["services"]["dockerapp"]["environment"]
    assert environment["API_TOKENS_FILE"] == "/run/secrets/api_tokens"
    assert environment["USERS_FILE"] == "/run/secrets/users"
    assert environment["PROXY_HOPS"] == "1"


def test_app_finds_the_primary_through_all_three_sentinels_and_waits_for_a_replica(stack):
    environment = stack["services"]["dockerapp"]["environment"]
    sentinels = environment["REDIS_SENTINELS"].split(",")
    assert sentinels == [f"{name}:26379" for name in SENTINEL_SERVICES]
    assert environment["REDIS_PRIMARY_NAME"] == "dockerapp"
    assert environment["REDIS_MIN_REPLICAS_ACKED"] == "1"
    assert "REDIS_URL" not in environment


def test_app_spreads_its_replicas_over_the_nodes_by_preference_not_limit(stack):
    placement = stack["services"]["dockerapp"]["deploy"]["placement"]
    assert placement["preferences"] == [{"spread": "node.labels.dockerapp.node"}]
    assert "max_replicas_per_node" not in placement  # it would stall start-first updates


def test_each_redis_and_sentinel_is_pinned_to_its_own_node_with_its_own_volume(stack):
    services = stack["services"]
    volumes = []
    for number, name in enumerate(REDIS_SERVICES + SENTINEL_SERVICES):
        service = services[name]
        node = f"node.labels.dockerapp.node == {number % 3 + 1}"
        assert service["deploy"]["placement"]["constraints"] == [node]
        assert service["deploy"].get("replicas", 1) == 1
        assert service["deploy"]["endpoint_mode"] == "dnsrr"  # the name is the task's address
        assert service["deploy"]["update_config"]["order"] == "stop-first"
        assert [(v["type"], v["target"]) for v in service["volumes"]] == [("volume", "/data")]
        volumes.append(service["volumes"][0]["source"])
    assert len(set(volumes)) == 6


def test_redis_and_sentinel_passwords_come_only_from_the_docker_secret(stack):
    for name in REDIS_SERVICES + SENTINEL_SERVICES:
        service = stack["services"][name]
        assert [secret["source"] for secret in service["secrets"]] == ["redis_password"]
        assert service["environment"]["REDIS_PASSWORD_FILE"] == "/run/secrets/redis_password"
        assert "pass" not in " ".join(service["command"]).lower()
        assert not any("pass" in value.lower() for value in service["environment"].values()
                       if value != "/run/secrets/redis_password")  # fmt: skip
        assert "redis-cli" in service["healthcheck"]["test"][-1]


def test_the_start_scripts_ask_sentinel_and_configure_names_quorum_and_detection(stack):
    scripts_dir = ROOT / "k8s/base/redis-ha"
    scripts = {name: (scripts_dir / name).read_text() for name in ("redis.sh", "sentinel.sh")}
    assert "replica-announce-ip $REDIS_HOST" in scripts["redis.sh"]
    assert "masterauth $REDIS_PASSWORD" in scripts["redis.sh"]
    assert "current_primary" in scripts["redis.sh"]
    sentinel = scripts["sentinel.sh"]
    for line in ("sentinel resolve-hostnames yes", "sentinel announce-hostnames yes",
                 "sentinel down-after-milliseconds $PRIMARY_NAME 5000",
                 "sentinel auth-pass $PRIMARY_NAME $REDIS_PASSWORD"):  # fmt: skip
        assert line in sentinel
    assert re.search(r"sentinel monitor \$PRIMARY_NAME \S+ 6379 2$", sentinel, re.MULTILINE)
    # One copy of the scripts serves the swarm and Kubernetes: the one kustomize reads.
    files = {name: Path(config["file"]) for name, config in stack["configs"].items()}
    assert files == {
        "redis_start": scripts_dir / "redis.sh",
        "sentinel_start": scripts_dir / "sentinel.sh",
        "current_primary": scripts_dir / "current-primary.sh",
    }


def test_redis_is_only_on_the_internal_overlay_network(stack):
    networks = stack["networks"]
    for name in REDIS_SERVICES + SENTINEL_SERVICES:
        assert set(stack["services"][name]["networks"]) == {"back"}
    assert networks["back"] == {"driver": "overlay", "internal": True}
    assert networks["front"]["driver"] == "overlay"


def test_test_override_changes_only_what_a_kernel_without_ipvs_needs(stack):
    result = stack_config(ROOT / "stack.yml", TEST_OVERRIDE, **RELEASE)
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)
    assert merged["services"] == stack["services"]
    assert merged["networks"]["front"] == {"driver": "overlay", "attachable": True}
