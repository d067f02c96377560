"""The Kubernetes manifests (k8s/), as kustomize renders each overlay, checked offline."""

import re
from pathlib import Path

import kubernetes_validate
import pytest
from kubernetes_validate.utils import latest_version

from app import create_app

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(path.name for path in (ROOT / "k8s" / "overlays").iterdir() if path.is_dir())
WORKLOADS = (("Deployment", "dockerapp"), ("StatefulSet", "redis"))


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


def app_container(objects: list[dict]) -> dict:
    return only_container(objects, "Deployment", "dockerapp")


def container_port(container: dict, name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return port


def test_every_overlay_renders_the_whole_application(rendered):
    expected = {
        ("Deployment", "dockerapp"),
        ("Service", "dockerapp"),
        ("HorizontalPodAutoscaler", "dockerapp"),
        ("PodDisruptionBudget", "dockerapp"),
        ("StatefulSet", "redis"),
        ("Service", "redis"),
        ("NetworkPolicy", "redis"),
    }
    assert set(rendered) == {"local", "production"}
    for overlay, objects in rendered.items():
        kinds = {(o["kind"], o["metadata"]["name"]) for o in objects}
        assert expected <= kinds, f"{overlay} lacks {expected - kinds}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_validates_strictly_against_the_newest_kubernetes_schema(rendered, overlay):
    version = latest_version()
    assert version >= "1.37"
    errors = []
    for manifest in rendered[overlay]:
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as e:
            errors.append(f"{manifest['kind']}/{manifest['metadata']['name']}: {e.message}")
    assert errors == []


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
    assert statefulset["replicas"] == 1
    (claim,) = statefulset["volumeClaimTemplates"]
    pod = statefulset["template"]["spec"]
    assert all("emptyDir" not in volume for volume in pod.get("volumes", []))
    (container,) = pod["containers"]
    data_mounts = [m for m in container["volumeMounts"] if m["mountPath"] == "/data"]
    assert [m["name"] for m in data_mounts] == [claim["metadata"]["name"]]
    assert "--appendonly" in container["args"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_takes_its_password_from_the_secret_and_has_probes(rendered, overlay):
    container = only_container(rendered[overlay], "StatefulSet", "redis")
    secret_env = {
        variable["name"]: variable["valueFrom"]["secretKeyRef"]["key"]
        for variable in container["env"]
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    assert secret_env["REDIS_PASSWORD"] == "redis_password"
    assert container["args"][container["args"].index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert "redis-cli ping" in " ".join(container["readinessProbe"]["exec"]["command"])
    assert container["livenessProbe"]["tcpSocket"]["port"] == "redis"
    assert container_port(container, "redis") == 6379


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_app_pods_may_connect_to_redis(rendered, overlay):
    objects = rendered[overlay]
    redis_labels = find(objects, "StatefulSet", "redis")["spec"]["template"]["metadata"]["labels"]
    app_labels = find(objects, "Deployment", "dockerapp")["spec"]["template"]["metadata"]["labels"]
    policies = [
        o["spec"]
        for o in objects
        if o["kind"] == "NetworkPolicy"
        and o["spec"]["podSelector"]["matchLabels"].items() <= redis_labels.items()
    ]
    (policy,) = policies
    assert "Ingress" in policy["policyTypes"]
    (rule,) = policy["ingress"]
    for peer in rule["from"]:
        assert set(peer) == {"podSelector"}  # no namespaces, no IP blocks
        assert peer["podSelector"]["matchLabels"].items() <= app_labels.items()
        assert not peer["podSelector"]["matchLabels"].items() <= redis_labels.items()
    assert [port["port"] for port in rule["ports"]] == ["redis"]


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


def test_production_pins_the_app_image_to_a_commit_sha(rendered):
    image = app_container(rendered["production"])["image"]
    assert re.fullmatch(r"[^:@]+/dockerapp:[0-9a-f]{40}", image), image
    redis = only_container(rendered["production"], "StatefulSet", "redis")
    assert re.fullmatch(r"redis:\d+\.\d+\.\d+-\w+", redis["image"]), redis["image"]


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
    assert set(secret["data"]) == {"redis_password", "secret_key"}
