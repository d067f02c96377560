"""The Kubernetes manifests (k8s/), as kustomize renders each overlay, checked offline."""

import base64
import re
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import redis
import yaml
from kubernetes_validate.utils import all_versions, latest_version, major_minor
from packaging.version import Version
from redis.backoff import NoBackoff
from redis.retry import Retry

from app import create_app

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(path.name for path in (ROOT / "k8s" / "overlays").iterdir() if path.is_dir())
WORKLOADS = (("Deployment", "dockerapp"), ("StatefulSet", "redis"))
# The oldest Kubernetes the manifests support, stated once, in the base's kustomization.yaml.
(MINIMUM_KUBERNETES,) = re.findall(
    r"Needs Kubernetes (\d+\.\d+) or newer", (ROOT / "k8s/base/kustomization.yaml").read_text()
)


def find(objects: list[dict], kind: str, name: str) -> dict:
    """The one rendered object of `kind` named `name`."""
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def pod_spec(objects: list[dict], kind: str, name: str) -> dict:
    """The pod template's spec of a Deployment or StatefulSet."""
    return find(objects, kind, name)["spec"]["template"]["spec"]


def only_container(objects: list[dict], kind: str, name: str) -> dict:
    (container,) = pod_spec(objects, kind, name)["containers"]
    return container


def redis_container(objects: list[dict], name: str = "redis") -> dict:
    """A container of the Redis pods: `redis` or `sentinel`."""
    (container,) = [
        c for c in pod_spec(objects, "StatefulSet", "redis")["containers"] if c["name"] == name
    ]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {v["name"]: v["value"] for v in container.get("env", []) if "value" in v}


def start_scripts(objects: list[dict]) -> dict[str, str]:
    """The ConfigMap the Redis pods mount their start scripts from: file name -> text."""
    pod = pod_spec(objects, "StatefulSet", "redis")
    (name,) = [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v]
    return find(objects, "ConfigMap", name)["data"]


def app_container(objects: list[dict]) -> dict:
    return only_container(objects, "Deployment", "dockerapp")


def container_port(container: dict, name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return port


def secret_volumes(pod: dict) -> list[dict]:
    """The `secret` part of each of the pod's Secret volumes."""
    return [volume["secret"] for volume in pod.get("volumes", []) if "secret" in volume]


def redis_client(port: int, password: str | None = None) -> redis.Redis:
    """A client that sends PING as is (RESP2, no HELLO) and fails at once (no retries)."""
    return redis.Redis(port=port, password=password, protocol=2, retry=Retry(NoBackoff(), 0))


def pod_labels(objects: list[dict], kind: str, name: str) -> dict:
    return find(objects, kind, name)["spec"]["template"]["metadata"]["labels"]


def selects(selector: dict, labels: dict) -> bool:
    """Whether a matchLabels selector picks pods carrying `labels`."""
    return selector["matchLabels"].items() <= labels.items()


def policies_for(objects: list[dict], labels: dict) -> list[dict]:
    """The specs of the NetworkPolicies that apply to pods carrying `labels`."""
    return [
        o["spec"]
        for o in objects
        if o["kind"] == "NetworkPolicy" and selects(o["spec"]["podSelector"], labels)
    ]


def ports_of(rule: dict) -> set[tuple[str, int | str]]:
    """A NetworkPolicy rule's ports as (protocol, port); TCP is the API's default protocol."""
    return {(port.get("protocol", "TCP"), port["port"]) for port in rule["ports"]}


def test_every_overlay_renders_the_whole_application(rendered):
    expected = {
        ("Deployment", "dockerapp"),
        ("Service", "dockerapp"),
        ("HorizontalPodAutoscaler", "dockerapp"),
        ("PodDisruptionBudget", "dockerapp"),
        ("NetworkPolicy", "dockerapp"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("NetworkPolicy", "redis"),
        ("PodDisruptionBudget", "redis"),
    }
    assert set(rendered) == {"local", "production"}
    for overlay, objects in rendered.items():
        kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
        assert expected <= kinds, f"{overlay} lacks {expected - kinds}"


@pytest.mark.parametrize("version", [MINIMUM_KUBERNETES, major_minor(latest_version())])
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly_against_the_oldest_and_newest_kubernetes(
    rendered, overlay, version
):
    # kubernetes-validate falls back to an older schema for a version it lacks: refuse that.
    assert version in {major_minor(known) for known in all_versions()}
    assert Version(latest_version()) >= Version("1.37")
    errors = []
    for manifest in rendered[overlay]:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            errors.append(f"{manifest['kind']}/{manifest['metadata']['name']}: {e.message}")
    assert errors == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_minimum_kubernetes_runs_every_lifecycle_hook_without_a_feature_gate(rendered, overlay):
    # The 1.29 schema has the preStop sleep action, but 1.29 runs it only behind the
    # PodLifecycleSleepAction feature gate (beta, on by default, from 1.30): no schema shows that.
    hooks = [
        container.get("lifecycle", {})
        for kind, name in WORKLOADS
        for container in pod_spec(rendered[overlay], kind, name)["containers"]
    ]
    if any("sleep" in handler for hook in hooks for handler in hook.values()):
        assert Version(MINIMUM_KUBERNETES) >= Version("1.30")


def test_minimum_kubernetes_version_is_the_one_the_docs_state():
    docs = (ROOT / "docs" / "kubernetes.md").read_text()
    assert set(re.findall(r"Kubernetes (\d+\.\d+) or newer", docs)) == {MINIMUM_KUBERNETES}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_probes_use_the_apps_real_health_endpoints(rendered, overlay, monkeypatch):
    container = app_container(rendered[overlay])
    liveness_paths = {
        container[probe]["httpGet"]["path"] for probe in ("startupProbe", "livenessProbe")
    }
    readiness_path = container["readinessProbe"]["httpGet"]["path"]
    # The app itself says which path is which: with Redis unreachable, liveness must stay 200
    # (a Redis outage must not restart pods) and readiness must say 503.
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    client = create_app().test_client()
    (liveness_path,) = liveness_paths
    assert client.get(liveness_path).status_code == 200
    assert client.get(readiness_path).status_code == 503
    documented = client.get("/openapi.json").get_json()["paths"]
    assert {liveness_path, readiness_path} <= set(documented)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_probes_and_service_use_the_port_the_image_exposes(rendered, overlay):
    (exposed,) = re.findall(r"^EXPOSE (\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    container = app_container(rendered[overlay])
    assert container_port(container, "http") == int(exposed)
    assert "PORT" not in {variable["name"] for variable in container["env"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"]["port"] == "http"
    service = find(rendered[overlay], "Service", "dockerapp")
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_pods_run_non_root_read_only_without_privileges(rendered, overlay, kind, name):
    pod = pod_spec(rendered[overlay], kind, name)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["readOnlyRootFilesystem"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_pods_run_as_a_uid_no_host_account_has_and_own_their_volumes(rendered, overlay, kind, name):
    pod = pod_spec(rendered[overlay], kind, name)
    security = pod["securityContext"]
    assert security["runAsUser"] >= 10000
    # Volumes (the Redis claim, the Secret's files) belong to fsGroup: the process's own group.
    assert security["fsGroup"] == security["runAsGroup"]
    for container in pod["containers"]:
        assert {"runAsUser", "runAsGroup"}.isdisjoint(container["securityContext"])


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_secret_files_are_readable_by_the_pods_group_only(rendered, overlay, kind, name):
    # Secret files are root-owned: fsGroup is the only way a non-root process reads 0440.
    pod = pod_spec(rendered[overlay], kind, name)
    assert secret_volumes(pod)
    assert "fsGroup" in pod["securityContext"]
    for secret in secret_volumes(pod):
        modes = [secret.get("defaultMode", 0o644)]
        modes += [item["mode"] for item in secret.get("items", []) if "mode" in item]
        assert all(mode & 0o044 == 0o040 for mode in modes), [oct(mode) for mode in modes]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_no_container_gets_a_secret_through_its_environment(rendered, overlay, kind, name):
    for container in pod_spec(rendered[overlay], kind, name)["containers"]:
        assert all("secretKeyRef" not in v.get("valueFrom", {}) for v in container.get("env", []))
        assert all("secretRef" not in source for source in container.get("envFrom", []))


def test_no_secret_value_appears_in_any_pod_spec(rendered):
    objects = rendered["local"]  # the overlay whose Secret, with its values, is rendered
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    values = [base64.b64decode(value).decode() for value in secret["data"].values()]
    pods = str([pod_spec(objects, kind, name) for kind, name in WORKLOADS])
    assert [value for value in values if value in pods] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize(("kind", "name"), WORKLOADS)
def test_containers_have_cpu_and_memory_requests_and_limits(rendered, overlay, kind, name):
    pod = pod_spec(rendered[overlay], kind, name)
    for container in pod["containers"]:
        for bound in ("requests", "limits"):
            assert set(container["resources"][bound]) == {"cpu", "memory"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_keeps_three_ready_replicas_through_a_rollout(rendered, overlay):
    spec = find(rendered[overlay], "Deployment", "dockerapp")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    pause = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    (graceful,) = re.findall(
        r"^graceful_timeout = (\d+)", (ROOT / "gunicorn.conf.py").read_text(), re.MULTILINE
    )
    # SIGTERM comes after the preStop pause; gunicorn then finishes in-flight requests.
    assert pod["terminationGracePeriodSeconds"] >= pause + int(graceful)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_keeps_its_data_on_a_persistent_volume_claim(rendered, overlay):
    statefulset = find(rendered[overlay], "StatefulSet", "redis")["spec"]
    claims = {claim["metadata"]["name"] for claim in statefulset["volumeClaimTemplates"]}
    pod = statefulset["template"]["spec"]
    assert all("emptyDir" not in volume for volume in pod.get("volumes", []))
    container = redis_container(rendered[overlay])
    (data_mount,) = [m for m in container["volumeMounts"] if m["name"] in claims]
    # redis.sh gives redis-server no --dir: it writes to its working directory, the claim.
    assert container["workingDir"] == data_mount["mountPath"]
    assert "appendonly yes" in start_scripts(rendered[overlay])["redis.sh"].splitlines()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_and_sentinel_run_three_pods_on_three_different_nodes(rendered, overlay):
    statefulset = find(rendered[overlay], "StatefulSet", "redis")["spec"]
    assert statefulset["replicas"] == 3
    assert statefulset["podManagementPolicy"] == "Parallel"
    pod = statefulset["template"]["spec"]
    assert {c["name"] for c in pod["containers"]} == {"redis", "sentinel"}
    (term,) = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert selects(term["labelSelector"], pod_labels(rendered[overlay], "StatefulSet", "redis"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_disruption_budget_keeps_a_sentinel_quorum(rendered, overlay):
    objects = rendered[overlay]
    replicas = find(objects, "StatefulSet", "redis")["spec"]["replicas"]
    budget = find(objects, "PodDisruptionBudget", "redis")["spec"]
    assert selects(budget["selector"], pod_labels(objects, "StatefulSet", "redis"))
    # Each pod runs one Sentinel; the monitor line's quorum must stay reachable, and a majority.
    (quorum,) = re.findall(
        r"sentinel monitor \S+ \S+ 6379 (\d+)", start_scripts(objects)["sentinel.sh"]
    )
    assert budget["minAvailable"] == int(quorum) == 2
    assert budget["minAvailable"] > replicas // 2


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_pods_have_stable_names_from_a_headless_service(rendered, overlay):
    objects = rendered[overlay]
    statefulset = find(objects, "StatefulSet", "redis")["spec"]
    service = find(objects, "Service", statefulset["serviceName"])["spec"]
    assert service["clusterIP"] == "None"
    assert service["publishNotReadyAddresses"] is True
    assert selects(
        {"matchLabels": service["selector"]}, pod_labels(objects, "StatefulSet", "redis")
    )
    ports = {(p["port"], p["targetPort"]) for p in service["ports"]}
    assert ports == {(6379, "redis"), (26379, "sentinel")}
    assert container_port(redis_container(objects), "redis") == 6379
    assert container_port(redis_container(objects, "sentinel"), "sentinel") == 26379
    names = [f"redis-{i}.{statefulset['serviceName']}" for i in range(statefulset["replicas"])]
    for name in ("redis", "sentinel"):
        container = redis_container(objects, name)
        env = env_of(container)
        assert container["env"][0] == {
            "name": "POD_NAME",
            "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
        }
        own_name = f"$(POD_NAME).{statefulset['serviceName']}"
        assert env["REDIS_HOST"] == env["SENTINEL_HOST"] == own_name
        assert env["SENTINEL_HOSTS"].split() == names
        assert env["FIRST_PRIMARY"] in names
        assert env["PRIMARY_NAME"] == "dockerapp"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_and_sentinel_announce_the_stable_names(rendered, overlay):
    scripts = start_scripts(rendered[overlay])
    assert "replica-announce-ip $REDIS_HOST" in scripts["redis.sh"].splitlines()
    sentinel_lines = scripts["sentinel.sh"].splitlines()
    for line in (
        "sentinel resolve-hostnames yes",
        "sentinel announce-hostnames yes",
        "sentinel announce-ip $SENTINEL_HOST",
    ):
        assert line in sentinel_lines


def test_the_configmap_carries_every_start_script_unchanged(rendered):
    # k8s/base/redis-ha/ is the one copy of the scripts (stack.yml reads it too).
    scripts_dir = ROOT / "k8s/base/redis-ha"
    expected = {path.name: path.read_text() for path in scripts_dir.glob("*.sh")}
    assert set(expected) == {"redis.sh", "sentinel.sh", "current-primary.sh"}
    for objects in rendered.values():
        assert start_scripts(objects) == expected


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_sentinel_keeps_its_config_on_its_own_claim(rendered, overlay):
    objects = rendered[overlay]
    statefulset = find(objects, "StatefulSet", "redis")["spec"]
    claims = {claim["metadata"]["name"] for claim in statefulset["volumeClaimTemplates"]}
    (config,) = re.findall(r"^config=(\S+)$", start_scripts(objects)["sentinel.sh"], re.MULTILINE)
    container = redis_container(objects, "sentinel")
    assert container["command"] == ["sh", "/redis-ha/sentinel.sh"]
    (mount,) = [m for m in container["volumeMounts"] if config.startswith(m["mountPath"] + "/")]
    assert mount["name"] in claims  # kept across restarts and rescheduling: not emptyDir
    assert not mount.get("readOnly", False)
    # Its own claim: never the one Redis writes its data to.
    redis_claims = {m["name"] for m in redis_container(objects)["volumeMounts"]}
    assert mount["name"] not in redis_claims


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", ["redis", "sentinel"])
def test_redis_pod_containers_read_the_password_from_the_secret_file(rendered, overlay, name):
    objects = rendered[overlay]
    pod = pod_spec(objects, "StatefulSet", "redis")
    container = redis_container(objects, name)
    (secret_volume,) = [v["name"] for v in pod["volumes"] if "secret" in v]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == secret_volume]
    assert env_of(container)["REDIS_PASSWORD_FILE"] == f"{mount['mountPath']}/redis_password"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_sees_only_the_redis_password_of_the_secret(rendered, overlay):
    objects = rendered[overlay]
    (secret,) = secret_volumes(pod_spec(objects, "StatefulSet", "redis"))
    (app_secret,) = secret_volumes(pod_spec(objects, "Deployment", "dockerapp"))
    assert secret["secretName"] == app_secret["secretName"]
    assert [item["key"] for item in secret["items"]] == ["redis_password"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_requires_the_password_from_the_mounted_secret_file(rendered, overlay, redis_on_host):
    host = redis_on_host(rendered[overlay], "redis-0")
    with pytest.raises(redis.AuthenticationError, match="Authentication required"):
        redis_client(host.port).ping()
    with pytest.raises(redis.AuthenticationError, match="invalid username-password"):
        redis_client(host.port, "not-the-password").ping()
    assert redis_client(host.port, host.password).ping() is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_password_is_in_no_argument_or_environment(rendered, overlay, redis_on_host):
    host = redis_on_host(rendered[overlay], "redis-1")
    # The readiness probe runs redis-cli: neither may get the password as an argument or variable.
    assert (
        host.run(redis_container(rendered[overlay])["readinessProbe"]["exec"]["command"]).returncode
        == 0
    )
    for program in ("redis-server", "redis-cli"):
        assert "RECORDS_DIR=" in host.started_with(program)  # it was started, and recorded
    assert host.password not in host.started_with("redis-server")
    # redis.sh asks the Sentinels with redis-cli, the password in that process's own
    # REDISCLI_AUTH (as the swarm does): never an argument, and in no pod spec.
    lines = host.started_with("redis-cli").splitlines()
    assert [
        line for line in lines if host.password in line and line != f"REDISCLI_AUTH={host.password}"
    ] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_writes_its_append_only_file_to_the_claim(rendered, overlay, redis_on_host):
    host = redis_on_host(rendered[overlay], "redis-0")
    redis_client(host.port, host.password).set("written", "to the claim")
    (appendonly,) = host.mounts["/data"].glob("appendonlydir/*.incr.aof")
    assert b"to the claim" in appendonly.read_bytes()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_readiness_probe_passes_only_with_the_secret_password(
    rendered, overlay, redis_on_host
):
    container = redis_container(rendered[overlay])
    host = redis_on_host(rendered[overlay], "redis-0")
    probe = container["readinessProbe"]["exec"]["command"]
    assert host.run(probe).returncode == 0
    host.password_file.write_text("not-the-password\n")
    assert host.run(probe).returncode != 0
    assert container["livenessProbe"]["tcpSocket"]["port"] == "redis"
    assert container_port(container, "redis") == 6379


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_first_start_makes_the_first_primary_primary_and_the_others_its_replicas(
    rendered, overlay, redis_on_host
):
    # No Sentinel answers here and no claim holds data: the very first deploy.
    first = env_of(redis_container(rendered[overlay]))["FIRST_PRIMARY"]
    primary = redis_on_host(rendered[overlay], first.split(".")[0])
    assert redis_client(primary.port, primary.password).info("replication")["role"] == "master"
    replica = redis_on_host(rendered[overlay], "redis-2")
    info = redis_client(replica.port, replica.password).info("replication")
    assert (info["role"], info["master_host"], info["master_port"]) == ("slave", first, 6379)
    config = redis_client(replica.port, replica.password).config_get("replica-announce-ip")
    assert config == {"replica-announce-ip": "redis-2.redis"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_pod_with_data_and_no_sentinel_answering_refuses_to_start(
    rendered, overlay, redis_on_host
):
    # It may have been a primary that was failed over: serving its data could be serving stale
    # data as a second primary. It exits; the kubelet restarts it until a Sentinel answers.
    process = redis_on_host(
        rendered[overlay], "redis-0", data={"appendonlydir/x.aof": b""}, ready=False
    )
    assert process.returncode == 1
    message = process.stderr.read().decode()
    assert re.fullmatch(
        r"redis.sh: no Sentinel answered and \S+ holds data; not starting\n", message
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_sentinel_writes_its_config_on_its_claim_and_keeps_it_across_a_restart(
    rendered, overlay, redis_on_host
):
    objects = rendered[overlay]
    first = env_of(redis_container(objects, "sentinel"))["FIRST_PRIMARY"]
    sentinel = redis_on_host(objects, "redis-1", "sentinel")
    config = sentinel.mounts["/data"] / "sentinel.conf"
    assert config.stat().st_mode & 0o777 == 0o600  # it holds the password
    client = redis_client(sentinel.port, sentinel.password)
    primary = client.sentinel_master("dockerapp")
    assert (primary["ip"], primary["port"], primary["quorum"]) == (first, 6379, 2)
    with pytest.raises(redis.AuthenticationError):
        redis_client(sentinel.port, "not-the-password").ping()
    assert sentinel.password not in sentinel.started_with("redis-server")
    # Sentinel itself rewrote the file (its id, its announced name): the claim is its config.
    lines = config.read_text().splitlines()
    (my_id,) = [line for line in lines if line.startswith("sentinel myid ")]
    for setting, value in (
        ("announce-ip", "redis-1.redis"),
        ("resolve-hostnames", "yes"),
        ("announce-hostnames", "yes"),
    ):
        reply = client.execute_command("SENTINEL", "CONFIG", "GET", setting)
        assert [item.decode() for item in reply] == [setting, value]

    sentinel.process.terminate()
    sentinel.process.wait(timeout=10)
    restarted = redis_on_host(objects, "redis-1", "sentinel")  # same claim, a rotated password
    assert restarted.password != sentinel.password
    assert redis_client(restarted.port, restarted.password).ping() is True
    lines = config.read_text().splitlines()
    assert my_id in lines  # the same Sentinel, not a new one with an empty memory
    assert [line for line in lines if sentinel.password in line] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_app_pods_may_connect_to_redis(rendered, overlay):
    # ... and the Redis pods themselves: replication, Sentinel's checks and the Sentinels' votes.
    objects = rendered[overlay]
    redis_labels = pod_labels(objects, "StatefulSet", "redis")
    app_labels = pod_labels(objects, "Deployment", "dockerapp")
    (policy,) = policies_for(objects, redis_labels)
    assert "Ingress" in policy["policyTypes"]
    (rule,) = policy["ingress"]
    for peer in rule["from"]:
        assert set(peer) == {"podSelector"}  # no namespaces, no IP blocks
    assert [selects(peer["podSelector"], app_labels) for peer in rule["from"]] == [True, False]
    assert [selects(peer["podSelector"], redis_labels) for peer in rule["from"]] == [False, True]
    assert [port["port"] for port in rule["ports"]] == ["redis", "sentinel"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_pods_accept_connections_only_on_the_apps_port(rendered, overlay):
    objects = rendered[overlay]
    (policy,) = policies_for(objects, pod_labels(objects, "Deployment", "dockerapp"))
    assert "Ingress" in policy["policyTypes"]
    assert [ports_of(rule) for rule in policy["ingress"]] == [{("TCP", "http")}]
    assert container_port(app_container(objects), "http") == 5000


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_pods_connect_only_to_redis_and_the_cluster_dns(rendered, overlay):
    objects = rendered[overlay]
    (policy,) = policies_for(objects, pod_labels(objects, "Deployment", "dockerapp"))
    assert "Egress" in policy["policyTypes"]  # without it, egress is not restricted at all
    assert all(rule.get("to") for rule in policy["egress"])  # a rule without `to` allows any peer
    to_redis, to_dns = policy["egress"]
    (redis_peer,) = to_redis["to"]
    assert set(redis_peer) == {"podSelector"}
    assert selects(redis_peer["podSelector"], pod_labels(objects, "StatefulSet", "redis"))
    redis_port = container_port(redis_container(objects), "redis")
    sentinel_port = container_port(redis_container(objects, "sentinel"), "sentinel")
    sentinels = env_of(app_container(objects))["REDIS_SENTINELS"].split(",")
    assert {urlsplit(f"//{address}").port for address in sentinels} == {sentinel_port}
    assert ports_of(to_redis) == {("TCP", redis_port), ("TCP", sentinel_port)}
    assert to_dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert ports_of(to_dns) == {("UDP", 53), ("TCP", 53)}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_disruption_budget_and_autoscaler_cover_the_app(rendered, overlay):
    objects = rendered[overlay]
    deployment = find(objects, "Deployment", "dockerapp")
    app_labels = deployment["spec"]["template"]["metadata"]["labels"]
    budget = find(objects, "PodDisruptionBudget", "dockerapp")["spec"]
    assert budget["selector"]["matchLabels"].items() <= app_labels.items()
    assert budget["maxUnavailable"] == 1
    autoscaler = find(objects, "HorizontalPodAutoscaler", "dockerapp")["spec"]
    assert autoscaler["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "dockerapp",
    }
    assert autoscaler["minReplicas"] == deployment["spec"]["replicas"]
    assert autoscaler["maxReplicas"] > autoscaler["minReplicas"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_finds_the_primary_through_the_three_sentinels(rendered, overlay):
    objects = rendered[overlay]
    env = env_of(app_container(objects))
    assert "REDIS_URL" not in env  # its host would go unused: the Sentinels name the primary
    statefulset = find(objects, "StatefulSet", "redis")["spec"]
    hosts = [urlsplit(f"//{address}").hostname for address in env["REDIS_SENTINELS"].split(",")]
    assert hosts == env_of(redis_container(objects, "sentinel"))["SENTINEL_HOSTS"].split()
    assert len(set(hosts)) == statefulset["replicas"]
    assert env["REDIS_PRIMARY_NAME"] == env_of(redis_container(objects))["PRIMARY_NAME"]
    assert env["REDIS_MIN_REPLICAS_ACKED"] == "1"  # no acknowledged write lost with its node


def test_production_pins_the_app_image_by_digest(rendered):
    image = app_container(rendered["production"])["image"]
    assert re.fullmatch(r"[^:@]+/dockerapp@sha256:[0-9a-f]{64}", image), image


def test_production_pins_redis_to_a_patch_release(rendered):
    for name in ("redis", "sentinel"):
        image = redis_container(rendered["production"], name)["image"]
        assert re.fullmatch(r"redis:\d+\.\d+\.\d+-\w+(@sha256:[0-9a-f]{64})?", image), image


def test_production_takes_its_secret_from_the_cluster_not_from_git(rendered):
    objects = rendered["production"]
    assert [o for o in objects if o["kind"] == "Secret"] == []
    volumes = pod_spec(objects, "Deployment", "dockerapp")["volumes"]
    assert {"secretName": "dockerapp", "defaultMode": 0o440} in [v.get("secret") for v in volumes]


def test_production_namespace_enforces_the_restricted_pod_security_standard(rendered):
    namespace = find(rendered["production"], "Namespace", "dockerapp")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    others = [o for o in rendered["production"] if o is not namespace]
    assert {o["metadata"].get("namespace") for o in others} == {"dockerapp"}


def test_local_overlay_runs_the_minikube_built_image_behind_a_node_port(rendered):
    objects = rendered["local"]
    container = app_container(objects)
    assert (container["image"], container["imagePullPolicy"]) == ("dockerapp:local", "Never")
    assert find(objects, "Service", "dockerapp")["spec"]["type"] == "NodePort"
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert set(secret["data"]) == {"redis_password", "secret_key", "api_tokens", "users"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_app_reads_its_tokens_and_users_from_the_mounted_secret(rendered, overlay):
    container = app_container(rendered[overlay])
    env = {variable["name"]: variable.get("value") for variable in container["env"]}
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == "secrets"]
    assert env["API_TOKENS_FILE"] == f"{mount['mountPath']}/api_tokens"
    assert env["USERS_FILE"] == f"{mount['mountPath']}/users"
    assert env["PROXY_HOPS"] == "1"  # the Ingress controller, and no hop beyond it


CLUSTER_ISSUER = ROOT / "k8s" / "cert-manager" / "cluster-issuer.yaml"


def test_production_ingress_gets_its_certificate_from_the_cluster_issuer(rendered):
    objects = rendered["production"]
    ingress = find(objects, "Ingress", "dockerapp")
    issuer = yaml.safe_load(CLUSTER_ISSUER.read_text())
    assert (
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
        == (issuer["metadata"]["name"])
    )
    (tls,) = ingress["spec"]["tls"]
    assert tls["secretName"]  # where cert-manager keeps the certificate and key
    assert tls["hosts"] == [rule["host"] for rule in ingress["spec"]["rules"]]
    service = find(objects, "Service", "dockerapp")
    service_ports = {port["name"] for port in service["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "dockerapp" and backend["port"]["name"] in service_ports


def ingress_routes(ingress: dict, path: str) -> bool:
    """Whether a request for `path` matches one of the Ingress' rules (Exact or Prefix)."""
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            prefix = entry["path"].rstrip("/")
            if entry["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def test_production_ingress_routes_the_public_paths_and_not_the_metrics(rendered):
    ingress = find(rendered["production"], "Ingress", "dockerapp")
    app = create_app()
    public = {rule.rule for rule in app.url_map.iter_rules()} - {"/metrics"}
    public = {re.sub(r"<[^>]+>", "k", rule) for rule in public}  # /api/v1/keys/<key> -> .../k
    assert [path for path in sorted(public) if not ingress_routes(ingress, path)] == []
    assert not ingress_routes(ingress, "/metrics")


def test_cluster_issuer_uses_lets_encrypt_over_http01_through_the_ingress_class(rendered):
    # cert-manager's kinds are not in the Kubernetes schemas kubernetes-validate carries, so the
    # fields that matter are checked one by one, against cert-manager.io/v1's ClusterIssuer.
    issuer = yaml.safe_load(CLUSTER_ISSUER.read_text())
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(issuer, MINIMUM_KUBERNETES, strict=True)
    assert (issuer["apiVersion"], issuer["kind"]) == ("cert-manager.io/v1", "ClusterIssuer")
    assert set(issuer) == {"apiVersion", "kind", "metadata", "spec"}
    assert "namespace" not in issuer["metadata"]  # cluster-scoped
    assert set(issuer["spec"]) == {"acme"}
    acme = issuer["spec"]["acme"]
    assert set(acme) <= {"server", "email", "privateKeySecretRef", "solvers"}
    assert acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert set(acme["privateKeySecretRef"]) == {"name"}
    (solver,) = acme["solvers"]
    ingress = find(rendered["production"], "Ingress", "dockerapp")
    assert solver == {
        "http01": {"ingress": {"ingressClassName": ingress["spec"]["ingressClassName"]}}
    }
