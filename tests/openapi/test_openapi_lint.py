"""/openapi.json, as the app serves it, passes spectral's OpenAPI ruleset with no finding.

spectral is an npm package, pinned in package-lock.json next to this file; `make
openapi-lint-tools` installs it into tests/openapi/node_modules.
"""

import json
import subprocess
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings

HERE = Path(__file__).resolve().parent
SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"
INSTALL = "make openapi-lint-tools (npm ci --prefix tests/openapi --ignore-scripts)"


def served_document(tmp_path: Path, settings: Settings) -> Path:
    """The document the app serves, written to a file for spectral."""
    # The route builds the document from settings alone; no request here reaches Redis.
    response = create_app(settings).test_client().get("/openapi.json")
    assert response.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(response.json, indent=2))
    return path


# Both documents the app can serve: the open API of development, and the API that needs a
# bearer token (production), with its security scheme and 401 and 429 answers.
@pytest.mark.parametrize(
    "settings",
    [Settings(), Settings(api_tokens=("a-token",))],
    ids=["open", "tokens-required"],
)
def test_openapi_document_has_no_spectral_finding(tmp_path, settings):
    assert SPECTRAL.exists(), f"spectral is not installed; run: {INSTALL}"
    command = [str(SPECTRAL), "lint", str(served_document(tmp_path, settings)),
               "--ruleset", str(HERE / "ruleset.yaml"), "--fail-severity", "hint"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
