"""The Docker notes' plain `docker run` paths: --link, --net none, --net host."""

from conftest import PREFIX, docker, health, http_status, inspect, remove_containers, wait_until

LINK_PORT = 16020
HOST_NET_PORT = 16021


def status_inside(container: str, path: str) -> int:
    """The status of GET path from inside the container (for networks the host cannot reach)."""
    script = (
        "import urllib.error, urllib.request\n"
        "try:\n"
        f"    print(urllib.request.urlopen('http://127.0.0.1:5000{path}', timeout=3).status)\n"
        "except urllib.error.HTTPError as error:\n"
        "    print(error.code)\n"
    )
    return int(docker("exec", container, "python", "-c", script).stdout)


def test_link_to_a_redis_container_serves_the_page(runtime_image, redis_image):
    redis, app = f"{PREFIX}-link-redis", f"{PREFIX}-link-app"
    try:
        docker("run", "--detach", "--name", redis, redis_image)
        docker("run", "--detach", "--name", app, "--link", f"{redis}:redis",
               "--publish", f"127.0.0.1:{LINK_PORT}:5000", runtime_image)  # fmt: skip
        wait_until(lambda: http_status(f"http://127.0.0.1:{LINK_PORT}/readyz") == 200, 30, "/readyz to be 200")
        assert http_status(f"http://127.0.0.1:{LINK_PORT}/") == 200
    finally:
        remove_containers(app, redis)


def test_without_network_healthz_is_200_readyz_503_and_nothing_restarts(runtime_image):
    app = f"{PREFIX}-net-none"
    try:
        docker("run", "--detach", "--name", app, "--network", "none", "--restart", "on-failure", runtime_image)
        wait_until(lambda: health(app) == "healthy", 60, "the HEALTHCHECK to pass")
        assert status_inside(app, "/healthz") == 200
        assert status_inside(app, "/readyz") == 503
        state = inspect(app)
        assert state["State"]["Running"] and state["RestartCount"] == 0
    finally:
        remove_containers(app)


def test_host_network_with_configured_bind_address_and_port(runtime_image):
    app = f"{PREFIX}-net-host"
    try:
        docker("run", "--detach", "--name", app, "--network", "host",
               "--env", "HOST=127.0.0.1", "--env", f"PORT={HOST_NET_PORT}", runtime_image)  # fmt: skip
        wait_until(lambda: http_status(f"http://127.0.0.1:{HOST_NET_PORT}/healthz") == 200, 30, "/healthz")
        wait_until(lambda: health(app) == "healthy", 60, "the HEALTHCHECK to follow PORT")
    finally:
        remove_containers(app)
