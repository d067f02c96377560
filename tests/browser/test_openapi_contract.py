"""schemathesis against the served app: generated requests, every response checked against
/openapi.json (status codes, content types, schemas, headers)."""

import subprocess
import sys
from pathlib import Path

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_api_matches_its_openapi_document(app_url, tmp_path):
    command = [str(SCHEMATHESIS), "run", app_url + "/openapi.json", "--checks", "all",
               "--max-examples", "30", "--request-timeout", "5", "--seed", "2"]  # fmt: skip
    # cwd: schemathesis keeps its example database in ./.schemathesis
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
