"""prod.yml behind its Caddy, with Pebble as the ACME CA (edge.yml), driven through the docker CLI.

The host reaches Caddy on 127.0.0.1 through the published HTTP_PORT and HTTPS_PORT; DOMAIN
resolves there for this test process only (conftest.py), as a DNS record would for a real client.
"""

import json
import re
import socket
import ssl
from pathlib import Path

import requests

from tests.host_helpers import docker, wait_until

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PROJECT = "dockerapp-edge"
# A name Caddy treats as public (it gets an ACME certificate, not Caddy's internal CA); the .test
# TLD is reserved (RFC 2606), so it can never be someone's real server.
DOMAIN = "dockerapp.test"
ISSUED = re.compile(r"Issued certificate serial ([0-9a-f]+) for order")
ORDERED = re.compile(r'Added order "([^"]+)"')


class EdgeStack:
    """The Compose project: prod.yml + edge.yml, with its ports, secrets and CA files."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir, self.env = workdir, env
        self.https_port, self.http_port = int(env["HTTPS_PORT"]), int(env["HTTP_PORT"])
        self.api_ca = workdir / "pebble-api" / "ca.pem"  # what Caddy trusts to reach Pebble
        self.root_file = workdir / "pebble-root.pem"  # Pebble's issuing root, once fetched

    def compose(self, *args: str, timeout: float = 240, check: bool = True):
        files = ["-f", str(REPO / "prod.yml"), "-f", str(HERE / "edge.yml")]
        return docker("compose", "-p", PROJECT, *files, *args,
                      timeout=timeout, check=check, env=self.env)  # fmt: skip

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def logs(self, service: str) -> str:
        """Everything the service's containers wrote to stdout and stderr (`docker logs`)."""
        return "".join(
            docker("logs", container).stdout + docker("logs", container).stderr
            for container in self.containers(service)
        )

    def write_secret(self, name: str, text: str) -> None:
        """Rewrite a secret file in place: Compose bind-mounts the file itself (its inode), so a
        new file put in its place would stay unseen by the running containers."""
        with open(self.workdir / "secrets" / name, "r+") as secret:
            secret.truncate()
            secret.write(text)

    def url(self, path: str = "/") -> str:
        return f"https://{DOMAIN}:{self.https_port}{path}"

    def fetch_pebble_root(self) -> Path:
        """Pebble's issuing root (new at each Pebble start), from its management API."""
        port = self.env["PEBBLE_MANAGEMENT_PORT"]
        response = requests.get(f"https://127.0.0.1:{port}/roots/0", verify=self.api_ca, timeout=5)
        response.raise_for_status()
        assert "BEGIN CERTIFICATE" in response.text, response.text[:200]
        self.root_file.write_text(response.text)
        return self.root_file

    def issued_serials(self) -> list[int]:
        """The serial of every certificate Pebble issued, from its log, in order.

        As numbers: Pebble writes a serial in hex with its leading zero, Python's ssl without."""
        return [int(serial, 16) for serial in ISSUED.findall(self.logs("pebble"))]

    def orders(self) -> list[str]:
        """Every order an ACME client placed with Pebble, from its log, in order."""
        return ORDERED.findall(self.logs("pebble"))

    def trusting_context(self) -> ssl.SSLContext:
        """A TLS client context that trusts Pebble's root and nothing else."""
        context = ssl.create_default_context(cafile=str(self.root_file))
        assert len(context.get_ca_certs()) == 1  # not the system's roots
        return context

    def served_certificate(self, context: ssl.SSLContext | None = None) -> dict:
        """The certificate Caddy presents for DOMAIN, verified against Pebble's root."""
        context = context or self.trusting_context()
        with (
            socket.create_connection(("127.0.0.1", self.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
        ):
            return tls.getpeercert()

    def wait_for_certificate(self, seconds: float = 90) -> dict:
        """Poll until Caddy serves a certificate for DOMAIN that chains to Pebble's root."""

        def served() -> dict:
            self.fetch_pebble_root()
            return self.served_certificate()

        return wait_until(
            served,
            seconds,
            f"a valid certificate for {DOMAIN}",
            retry_on=(OSError, requests.RequestException),
            explain=lambda: (
                f"caddy: {self.logs('caddy')[-3000:]}\npebble: {self.logs('pebble')[-2000:]}"
            ),
        )

    def inspect(self, container: str) -> dict:
        return json.loads(docker("inspect", container).stdout)[0]
