"""The port-5000 trap: `make up` and `make watch` say in one line who holds DOCKERAPP_PORT, and
what to set, before Compose builds and then fails with "address already in use".

The holder is a real listening process. For the macOS case it renames itself ControlCenter, the
process of the AirPlay Receiver that holds port 5000 on macOS 12+.
"""

import random
import subprocess
import sys

import pytest
from conftest import Compose, run

from tests.host_helpers import free_port

LISTENER = """
import ctypes, socket, sys
if sys.argv[1]:
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode())  # PR_SET_NAME: the name ss and lsof show
server = socket.socket()
server.bind(("0.0.0.0", int(sys.argv[2])))  # every interface, as the AirPlay Receiver listens
server.listen()
print("listening", flush=True)
sys.stdin.read()  # until the test closes stdin
"""


@pytest.fixture
def taken_port():
    """Start a listener on a free port; yield (port, pid, start) where start(name) names it."""
    port = free_port(random.sample(range(16500, 16600), 100))
    listeners = []

    def start(name: str = "") -> int:
        listener = subprocess.Popen(
            [sys.executable, "-c", LISTENER, name, str(port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        listeners.append(listener)
        assert listener.stdout.readline().strip() == "listening"
        return listener.pid

    yield port, start
    for listener in listeners:
        listener.stdin.close()
        listener.wait(timeout=10)


def check_port(port) -> subprocess.CompletedProcess:
    return run("bash", "scripts/check-port.sh", check=False, env={"DOCKERAPP_PORT": str(port)})


def test_port_check_names_the_airplay_receiver_and_the_variable(taken_port):
    port, start = taken_port
    pid = start("ControlCenter")
    result = check_port(port)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"dockerapp: port {port} is taken by ControlCenter (pid {pid}), the macOS AirPlay"
        " Receiver: set DOCKERAPP_PORT to a free port in .env (e.g. DOCKERAPP_PORT=8000),"
        " or stop that process"
    ]


def test_port_check_passes_a_free_port():
    port = free_port(random.sample(range(16600, 16700), 100))
    result = check_port(port)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("port", ["5000x", "0", "70000"])
def test_port_check_refuses_a_value_that_is_not_a_port(port):
    result = check_port(port)
    assert result.returncode == 1
    assert result.stderr.startswith("dockerapp: DOCKERAPP_PORT must be a port number"), result


def test_make_up_stops_before_compose_when_the_port_is_taken(taken_port):
    port, start = taken_port
    pid = start()
    project = Compose("dockerapp-containers-portcheck", ["docker-compose.yml"], {})
    environment = {"COMPOSE_PROJECT_NAME": project.project, "DOCKERAPP_PORT": str(port)}
    try:
        result = run("make", "--no-print-directory", "up", check=False, env=environment)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"dockerapp: port {port} is taken by " in output and f"(pid {pid})" in output
        assert "address already in use" not in output
        # Nothing was built or started for it.
        assert project("ps", "--all", "--quiet").stdout.strip() == ""
    finally:
        project.down()


def test_make_up_and_watch_run_the_port_check_before_compose():
    # `make -n` prints the recipe without running it: the check, then Compose, in one shell.
    for target in ("up", "watch"):
        lines = run("make", "-n", "--no-print-directory", target).stdout.splitlines()
        (recipe,) = [line for line in lines if "docker compose up" in line]
        assert "bash scripts/check-port.sh; docker compose up" in recipe, recipe
