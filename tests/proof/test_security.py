"""Security: response headers everywhere, Redis locked away, the app container unprivileged."""

import socket

import pytest
import requests

from .client import TIMEOUT, missing_security_headers
from .stack import APP, REDIS, network_is_internal

TEXT = {"Content-Type": "text/plain"}
# Every page and endpoint, in its success and its error forms.
ENDPOINTS = [
    pytest.param("GET", "/", {}, id="page"),
    pytest.param("GET", "/?key=1", {}, id="page lookup"),
    pytest.param("POST", "/", {"data": {"key": "k", "submit": "save"}}, id="form without CSRF 400"),
    pytest.param("GET", "/static/style.css", {}, id="stylesheet"),
    pytest.param("GET", "/healthz", {}, id="healthz"),
    pytest.param("GET", "/readyz", {}, id="readyz"),
    pytest.param("GET", "/metrics", {}, id="metrics"),
    pytest.param("GET", "/openapi.json", {}, id="openapi"),
    pytest.param("GET", "/api/v1/keys", {}, id="list"),
    pytest.param("GET", "/api/v1/keys/1", {}, id="get"),
    pytest.param("PUT", "/api/v1/keys/headers", {"json": {"value": "v"}}, id="put"),
    pytest.param("DELETE", "/api/v1/keys/absent", {}, id="delete 404"),
    pytest.param("PUT", "/api/v1/keys/headers", {"data": "x", "headers": TEXT}, id="put 415"),
    pytest.param("PUT", "/api/v1/keys/headers", {"json": {"value": "x" * 70_000}}, id="put 413"),
    pytest.param("POST", "/api/v1/keys/headers", {}, id="api 405"),
    pytest.param("GET", "/no/such/page", {}, id="page 404"),
]


@pytest.mark.parametrize(("method", "path", "extra"), ENDPOINTS)
def test_every_response_carries_the_security_headers(stack, figure, method, path, extra):
    """CSP, nosniff, framing denied and a referrer policy on every page and endpoint"""
    response = requests.request(method, stack.url(path), timeout=TIMEOUT, **extra)
    missing = missing_security_headers(response)
    figure(status=response.status_code, missing=",".join(missing) or 0)
    assert not missing


def redis_answer(output: str) -> str:
    """The telling word of a redis-cli PING: PONG, NOAUTH or WRONGPASS."""
    return next((word for word in ("WRONGPASS", "NOAUTH", "PONG") if word in output.split()), "?")


def test_redis_requires_its_password(stack, figure):
    """Redis refuses commands without its password, and with a wrong one"""

    def ping(password: str | None) -> str:
        env = {"REDISCLI_AUTH": password} if password else {}
        result = stack.exec(REDIS, "redis-cli", "--no-auth-warning", "PING", env=env, check=False)
        return (result.stdout + result.stderr).strip()

    anonymous, wrong = ping(None), ping("not-the-password")
    right = ping(stack.secrets["redis_password"])
    figure(without=redis_answer(anonymous), wrong=redis_answer(wrong), right=redis_answer(right))
    assert "NOAUTH" in anonymous
    assert "WRONGPASS" in wrong and "PONG" not in wrong
    assert right == "PONG"


def test_redis_is_not_published_and_its_bridge_address_demands_the_password(stack, figure):
    """Redis has no published port; from the Docker host its bridge address needs the password"""
    state = stack.inspect(REDIS)
    ports = state["NetworkSettings"]["Ports"] or {}
    published = [binding for binding in ports.values() if binding]
    # On Linux the host sits on every bridge, internal ones too: it can open a connection to the
    # container's address, so the password is what stands between a host process and the data.
    with socket.create_connection(
        (stack.container_ip(REDIS, internal=True), 6379), TIMEOUT
    ) as redis:
        redis.sendall(b"PING\r\n")
        answer = redis.recv(200).decode(errors="replace").strip()
    figure(published_ports=len(published), bridge_answer=answer.split()[0])
    assert not published
    assert not state["HostConfig"]["PortBindings"]
    assert stack.compose("port", REDIS, "6379", check=False).returncode != 0
    assert answer.startswith("-NOAUTH")


def test_app_reaches_redis_only_over_the_internal_network(stack, figure):
    """Redis sits only on an internal network; the app reaches it there, by name"""
    redis_networks = list(stack.inspect(REDIS)["NetworkSettings"]["Networks"])
    app_networks = list(stack.inspect(APP)["NetworkSettings"]["Networks"])
    internal = {name: network_is_internal(name) for name in {*redis_networks, *app_networks}}
    resolved = stack.exec(
        APP, "python", "-c", "import socket; print(socket.gethostbyname('redis'))"
    ).stdout
    figure(redis_on=",".join(redis_networks), app_on=",".join(app_networks))
    assert redis_networks and all(internal[name] for name in redis_networks)
    assert any(not internal[name] for name in app_networks), (
        "the app needs a front network to be served"
    )
    assert set(redis_networks) <= set(app_networks)
    assert resolved.strip() == stack.container_ip(REDIS, internal=True)


def test_app_container_is_non_root_read_only_and_without_capabilities(stack, figure):
    """The app container runs as non-root, read-only, with no capabilities and no new privileges"""
    state = stack.inspect(APP)
    status = dict(
        line.split(":", 1)
        for line in stack.exec(APP, "cat", "/proc/1/status").stdout.splitlines()
        if ":" in line
    )
    uid = status["Uid"].split()[0]
    write = stack.exec(APP, "python", "-c", "open('/app/probe', 'w')", check=False)
    figure(
        uid=uid, CapEff=status["CapEff"].strip(), read_only=state["HostConfig"]["ReadonlyRootfs"]
    )
    assert uid != "0" and state["Config"]["User"] not in ("", "root", "0")
    assert state["HostConfig"]["ReadonlyRootfs"] is True
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(status[field], 16) == 0, f"{field} is {status[field].strip()}"
    assert status["NoNewPrivs"].strip() == "1"


def test_only_the_app_port_is_published_and_only_on_loopback(stack, figure):
    """The suite's stack publishes one port, on 127.0.0.1 (prod.yml's DOCKERAPP_ADDRESS)"""
    bindings = [
        b for bs in stack.inspect(APP)["NetworkSettings"]["Ports"].values() if bs for b in bs
    ]
    figure(bindings=",".join(f"{b['HostIp']}:{b['HostPort']}" for b in bindings))
    assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    assert requests.get(stack.url("/healthz"), timeout=TIMEOUT).status_code == 200


def test_production_settings_are_in_force(stack, figure):
    """The running app is in production mode: secrets come from files, none in its environment"""
    env = dict(item.split("=", 1) for item in stack.inspect(APP)["Config"]["Env"])
    figure(APP_ENV=env.get("APP_ENV"))
    assert env.get("APP_ENV") == "production"
    assert "SECRET_KEY" not in env and "REDIS_PASSWORD" not in env
    assert env.get("SECRET_KEY_FILE", "").startswith("/run/secrets/")
