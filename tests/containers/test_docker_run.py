"""The Docker notes' plain `docker run` paths: --link, --net none, --net host."""

from conftest import PREFIX, get_inside, health, http_status, inspect
from conftest import remove_containers as remove

from tests.host_helpers import docker, wait_until

LINK_PORT = 16020
HOST_NETWORK_PORT = 16021


def start(name: str, *options: str):
    docker("run", "--detach", "--name", name, *options)


def test_link_to_a_redis_container_serves_the_page(runtime_image, redis_image):
    redis, app = f"{PREFIX}-link-redis", f"{PREFIX}-link-app"
    url = f"http://127.0.0.1:{LINK_PORT}"
    try:
        start(redis, redis_image)
        start(app, "--link", f"{redis}:redis", "-p", f"127.0.0.1:{LINK_PORT}:5000", runtime_image)
        wait_until(lambda: http_status(f"{url}/readyz") == 200, 30, "/readyz to be 200")
        assert http_status(f"{url}/") == 200
    finally:
        remove(app, redis)


def test_without_network_healthz_is_200_readyz_503_and_nothing_restarts(runtime_image):
    app = f"{PREFIX}-net-none"
    try:
        start(app, "--network", "none", "--restart", "on-failure", runtime_image)
        wait_until(lambda: health(app) == "healthy", 60, "the HEALTHCHECK to pass")
        assert get_inside(app, "/healthz")[0] == 200
        assert get_inside(app, "/readyz")[0] == 503
        state = inspect(app)
        assert state["State"]["Running"] and state["RestartCount"] == 0
    finally:
        remove(app)


def test_host_network_with_configured_bind_address_and_port(runtime_image):
    app = f"{PREFIX}-net-host"
    bind = ["-e", "HOST=127.0.0.1", "-e", f"PORT={HOST_NETWORK_PORT}"]
    try:
        start(app, "--network", "host", *bind, runtime_image)
        url = f"http://127.0.0.1:{HOST_NETWORK_PORT}/healthz"
        wait_until(lambda: http_status(url) == 200, 30, "/healthz on the configured port")
        wait_until(lambda: health(app) == "healthy", 60, "the HEALTHCHECK to follow PORT")
    finally:
        remove(app)
