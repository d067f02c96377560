"""testssl.sh (Debian's package; .ci/install-testssl.sh) grades the HTTPS endpoint.

It runs from the host against the published port, trusting Pebble's root in addition to its
own stores (the test CA stands in for Let's Encrypt). Any finding of severity MEDIUM, HIGH or
CRITICAL fails; so does a missing or empty report, which would otherwise read as a clean bill.
"""

import collections
import json
import shutil
import subprocess

from .stack import DOMAIN, REPO

FAILING = {"MEDIUM", "HIGH", "CRITICAL"}


def test_testssl_reports_nothing_of_medium_severity_or_worse(edge, tmp_path):
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    assert testssl, "testssl.sh is missing: bash .ci/install-testssl.sh, and its directory on PATH"
    report = tmp_path / "testssl.json"
    result = subprocess.run(
        [testssl, "--quiet", "--color", "0", "--warnings", "off", "--jsonfile", str(report),
         "--add-ca", str(edge.root_file), "--ip", "127.0.0.1",
         f"https://{DOMAIN}:{edge.https_port}"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert report.exists(), f"no JSON report (exit {result.returncode}):\n{result.stdout[-3000:]}"
    findings = json.loads(report.read_text())
    assert len(findings) > 50, (
        findings
    )  # a full scan reports on protocols, ciphers, vulnerabilities
    counts = collections.Counter(finding["severity"] for finding in findings)
    print("testssl.sh severities:", dict(sorted(counts.items())))
    for finding in findings:
        if finding["severity"] in ("LOW", "WARN"):
            print(f"  {finding['severity']} {finding['id']}: {finding['finding']}")
    # Kept for people to read (docs/reliability.md quotes its summary); test-artifacts/ is ignored.
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    shutil.copy(report, artifacts / "testssl.json")
    bad = [
        f"{f['severity']} {f['id']}: {f['finding']}" for f in findings if f["severity"] in FAILING
    ]
    assert not bad, "\n".join(bad)
    assert counts["OK"] > 0
