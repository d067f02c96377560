"""The JSON API through the proxy: a bearer token from API_TOKENS_FILE, or 401.

The tokens are conftest.API_TOKENS (two, as during a rotation). The last test searches every
container's `docker logs` for them, after this module used them.
"""

import pytest
import requests

from tests.host_helpers import wait_until

from .conftest import API_TOKENS

TIMEOUT = 10
LISTING = "/api/v1/keys?limit=1"


def api(edge, token: str | None, path: str = LISTING) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(edge.url(path), headers=headers, verify=edge.root_file, timeout=TIMEOUT)


def assert_refused(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="dockerapp"'
    assert response.json()["status"] == 401


def test_the_api_without_a_token_is_refused(edge):
    assert_refused(api(edge, None))


def test_the_api_with_a_wrong_token_is_refused(edge):
    assert_refused(api(edge, "not-" + API_TOKENS[0]))


@pytest.mark.parametrize("index", [0, 1])
def test_each_token_of_the_file_is_accepted(edge, index):
    response = api(edge, API_TOKENS[index])
    assert response.status_code == 200
    assert "keys" in response.json()


def test_the_health_endpoints_stay_open(edge):
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert api(edge, None, path).status_code == 200, path


def reload_workers(edge) -> None:
    """The documented step after editing the tokens or users file (README, "Deploy")."""
    edge.compose("kill", "-s", "HUP", "dockerapp")


def test_a_token_removed_from_the_file_is_refused_after_the_reload(edge):
    kept, removed = API_TOKENS
    assert api(edge, removed).status_code == 200
    edge.write_secret("api_tokens", kept + "\n")
    try:
        reload_workers(edge)

        # gunicorn replaces its workers one by one; each reads the file as it starts. Until the
        # last old worker has gone, a request may still meet one: poll, bounded.
        def status_once_refused() -> int | None:
            status = api(edge, removed).status_code
            return None if status == 200 else status

        assert wait_until(status_once_refused, 30, "the removed token to be refused") == 401
        assert api(edge, kept).status_code == 200
    finally:
        edge.write_secret("api_tokens", "".join(token + "\n" for token in API_TOKENS))
        reload_workers(edge)
    wait_until(
        lambda: api(edge, removed).status_code == 200, 30, "the restored token to be accepted"
    )


def test_no_token_appears_in_any_log_line(edge):
    # After the requests above (accepted, refused, and those of the reload): every container's
    # stdout and stderr, the app's access lines and Caddy's included.
    logs = {service: edge.logs(service) for service in ("dockerapp", "caddy", "redis", "pebble")}
    assert "/api/v1/keys" in logs["dockerapp"]  # the access lines are there to be searched
    for service, text in logs.items():
        for token in API_TOKENS:
            assert token not in text, f"a token is in the {service} logs"
