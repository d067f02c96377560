"""Failed logins are limited per client address, in Redis, across app replicas.

Two client containers on Caddy's public network, each with its own address, log in through the
proxy (login_client.py); the app sees their real addresses through X-Forwarded-For (PROXY_HOPS=1).
"""

import json

import pytest

from tests.host_helpers import docker

from .conftest import PASSWORD, USER
from .stack import DOMAIN, HERE, PROJECT

ATTEMPTS = 20  # in well under the limit's minute
ALLOWED_FAILURES = 10  # app/rate_limits.py: 10 per minute per address


@pytest.fixture
def two_replicas(edge):
    """The app scaled to two containers behind Caddy; back to one afterwards."""
    edge.compose("up", "--detach", "--wait", "--no-recreate", "--scale", "dockerapp=2")
    yield edge.containers("dockerapp")
    edge.compose("up", "--detach", "--wait", "--no-recreate", "--scale", "dockerapp=1")


@pytest.fixture
def clients(edge, images, two_replicas):
    """Two idle containers on the public network, alive together, so their addresses differ."""
    names = [f"{PROJECT}-client-{n}" for n in (1, 2)]
    for name in names:
        docker("rm", "-f", name, check=False)
        docker("run", "--detach", "--name", name, "--network", f"{PROJECT}_front",
               "--volume", f"{edge.root_file}:/pebble-root.pem:ro",
               "--volume", f"{HERE / 'login_client.py'}:/login_client.py:ro",
               "--entrypoint", "python", images["app"],
               "-c", "import time; time.sleep(600)")  # fmt: skip
    yield names
    for name in names:
        docker("rm", "-f", name, check=False)


def log_in(client: str, user: str, password: str, count: int = 1) -> list[dict]:
    output = docker("exec", client, "python", "/login_client.py", f"https://{DOMAIN}",
                    "/pebble-root.pem", user, password, str(count), timeout=120).stdout  # fmt: skip
    return [json.loads(line) for line in output.splitlines()]


def address(client: str, network: str) -> str:
    return json.loads(docker("inspect", client).stdout)[0]["NetworkSettings"]["Networks"][network][
        "IPAddress"
    ]


def login_lines(logs: str, client_address: str) -> list[dict]:
    """The app's access lines for POST /login from one address."""
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [
        line for line in lines
        if line.get("path") == "/login" and line.get("method") == "POST"
        and line.get("remote_addr") == client_address
    ]  # fmt: skip


def test_twenty_wrong_passwords_get_429_while_another_address_still_logs_in(
    edge, clients, two_replicas
):
    attacker, other = clients
    attacker_address = address(attacker, f"{PROJECT}_front")
    assert attacker_address != address(other, f"{PROJECT}_front")

    answers = log_in(attacker, USER, "wrong-" + PASSWORD, ATTEMPTS)
    statuses = [answer["status"] for answer in answers]
    assert statuses == [401] * ALLOWED_FAILURES + [429] * (ATTEMPTS - ALLOWED_FAILURES)
    retry_after = int(answers[-1]["retry_after"])
    assert 0 < retry_after <= 60
    # Even the right password waits while the address is over its limit.
    assert log_in(attacker, USER, PASSWORD)[0]["status"] == 429

    (welcome,) = log_in(other, USER, PASSWORD)
    assert welcome["status"] == 200 and welcome["url"] == f"https://{DOMAIN}/"

    # Both replicas answered the attacker's attempts, by its real address: a count kept in
    # each process would have allowed 10 failures per replica, 20 in all, before a 429.
    served = [login_lines(docker("logs", app).stdout, attacker_address) for app in two_replicas]
    assert all(served), [len(lines) for lines in served]
    assert sum(len(lines) for lines in served) == ATTEMPTS + 1


def test_a_forged_x_forwarded_for_changes_nothing(edge, clients):
    # Caddy replaces what a client claims with its real address: a forged header can neither
    # pose as another client to escape the limit nor frame one.
    attacker, _ = clients
    forged = "203.0.113.7"
    script = (
        "import ssl, urllib.request as u;"
        f"r = u.Request('https://{DOMAIN}/login', headers={{'X-Forwarded-For': '{forged}'}});"
        "u.urlopen(r, context=ssl.create_default_context(cafile='/pebble-root.pem')).read()"
    )
    docker("exec", attacker, "python", "-c", script)
    lines = [json.loads(line) for line in edge.logs("dockerapp").splitlines() if line[:1] == "{"]
    seen = {line.get("remote_addr") for line in lines if line.get("path") == "/login"}
    assert address(attacker, f"{PROJECT}_front") in seen
    assert forged not in seen
