"""/openapi.json, as the app serves it, passes spectral's OpenAPI ruleset with no finding.

spectral is an npm package, pinned in package-lock.json next to this file; `make
openapi-lint-tools` installs it into tests/openapi/node_modules.
"""

import json
import subprocess
from pathlib import Path

from app import create_app
from app.config import Settings

HERE = Path(__file__).resolve().parent
SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"
INSTALL = "make openapi-lint-tools (npm ci --prefix tests/openapi --ignore-scripts)"


def served_document(tmp_path: Path) -> Path:
    """The document the app serves, written to a file for spectral."""
    # The route builds the document from settings alone; no request here reaches Redis.
    response = create_app(Settings()).test_client().get("/openapi.json")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(response.json, indent=2))
    return path


def test_openapi_document_has_no_spectral_finding(tmp_path):
    assert SPECTRAL.exists(), f"spectral is not installed; run: {INSTALL}"
    command = [str(SPECTRAL), "lint", str(served_document(tmp_path)),
               "--ruleset", str(HERE / "ruleset.yaml"), "--fail-severity", "hint"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
