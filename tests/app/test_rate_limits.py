"""Failed logins and failed token checks are limited per client address, counted in Redis."""

import re

import pytest
import redis
from conftest import PASSWORD, TOKENS
from helpers import assert_problem, csrf_token

ATTACKER, NEIGHBOUR = "192.0.2.10", "192.0.2.20"


def client_from(app, address: str):
    """A test client whose requests come from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def log_in(client, password: str):
    """POST the login form as alice with `password`."""
    token = csrf_token(client.get("/login").text)
    form = {"username": "alice", "password": password, "csrf_token": token}
    return client.post("/login", data=form)


def retry_after(response) -> int:
    """Retry-After in whole seconds (fails if absent or not a number)."""
    return int(response.headers["Retry-After"])


def test_twenty_wrong_passwords_in_a_minute_get_429_while_others_still_log_in(locked_app):
    attacker = client_from(locked_app, ATTACKER)
    statuses = [log_in(attacker, f"guess {n}").status_code for n in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    refused = log_in(attacker, PASSWORD)  # even the right password, while over the limit
    assert refused.status_code == 429
    assert 1 <= retry_after(refused) <= 60
    assert refused.mimetype == "text/html"
    assert 'name="password"' in refused.text  # the login page, saying why
    assert re.search(r'id="error"[^>]*>Too many failed attempts', refused.text)
    assert log_in(client_from(locked_app, NEIGHBOUR), PASSWORD).status_code == 303


def test_successful_logins_are_not_counted(locked_app):
    client = client_from(locked_app, ATTACKER)
    assert [log_in(client, PASSWORD).status_code for _ in range(15)] == [303] * 15


def test_the_limit_holds_across_two_app_instances_on_one_redis(make_locked_app):
    first, second = (client_from(make_locked_app(), ATTACKER) for _ in range(2))
    for n in range(5):
        assert log_in(first, f"guess {n}").status_code == 401
        assert log_in(second, f"other guess {n}").status_code == 401
    assert log_in(first, "one more").status_code == 429
    assert log_in(second, "one more").status_code == 429


def test_twenty_wrong_tokens_get_429_problem_json_with_retry_after(locked_app):
    client = client_from(locked_app, ATTACKER)
    wrong = {"Authorization": "Bearer not-a-token"}
    statuses = [client.get("/api/v1/keys/1", headers=wrong).status_code for _ in range(20)]
    assert statuses == [401] * 10 + [429] * 10
    limited = client.get("/api/v1/keys/1", headers={"Authorization": f"Bearer {TOKENS[0]}"})
    assert_problem(limited, 429)
    assert 1 <= retry_after(limited) <= 60
    neighbour = client_from(locked_app, NEIGHBOUR)
    assert (
        neighbour.get(
            "/api/v1/keys/1", headers={"Authorization": f"Bearer {TOKENS[0]}"}
        ).status_code
        == 200
    )


def test_failed_logins_and_failed_tokens_are_counted_apart(locked_app):
    client = client_from(locked_app, ATTACKER)
    for _ in range(10):
        assert client.get("/api/v1/keys/1").status_code == 401
    assert log_in(client, PASSWORD).status_code == 303


def test_logout_and_the_form_are_never_limited(locked_app):
    client = client_from(locked_app, ATTACKER)
    for n in range(11):
        log_in(client, f"guess {n}")
    assert client.get("/login").status_code == 200
    page = client.get("/login").text
    assert client.post("/logout", data={"csrf_token": csrf_token(page)}).status_code == 303


def test_the_counts_live_in_redis_under_the_app_namespace(locked_app, redis_client):
    log_in(client_from(locked_app, ATTACKER), "guess")
    keys = redis_client.keys("*")
    assert keys and all(key.startswith("dockerapp:") for key in keys)
    assert any(key.startswith("dockerapp:limits:") and ATTACKER in key for key in keys)


@pytest.fixture
def password_redis_url(redis_client, redis_url):
    """The test Redis through an ACL user that needs a password: (URL without it, password)."""
    redis_client.acl_setuser(
        "dockerapp-limits-test", enabled=True, passwords=["+s3cret"], keys=["*"], commands=["+@all"]
    )
    try:
        yield redis_url.replace("redis://", "redis://dockerapp-limits-test@", 1), "s3cret"
    finally:
        redis_client.acl_deluser("dockerapp-limits-test")


def test_the_limits_work_with_a_redis_password(make_locked_app, password_redis_url):
    url, password = password_redis_url
    with pytest.raises(redis.AuthenticationError):  # the password is really needed
        redis.Redis.from_url(url, password="wrong").ping()
    client = client_from(make_locked_app(redis_url=url, redis_password=password), ATTACKER)
    statuses = [log_in(client, f"guess {n}").status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]


def test_redis_down_is_503_not_500_nor_an_open_door(make_locked_app, flaky_app, forwarder):
    app = make_locked_app(redis_url=flaky_app.extensions["settings"].redis_url)
    client = client_from(app, ATTACKER)
    token = csrf_token(client.get("/login").text)
    forwarder.cut()
    form = {"username": "alice", "password": "guess", "csrf_token": token}
    login = client.post("/login", data=form)
    assert login.status_code == 503  # refused before the password is checked
    api = client.get("/api/v1/keys/1", headers={"Authorization": "Bearer guess"})
    assert_problem(api, 503)
    assert api.headers["Retry-After"]


def test_only_the_api_and_the_login_post_work_out_their_limits(locked_app, monkeypatch):
    # app/rate_limits.py's request filter: Flask-Limiter would otherwise resolve the limits of
    # every request, the page's included, which have none (CPU only: no Redis call to count).
    limiter = locked_app.extensions["rate_limits"]
    resolved = []
    resolve = limiter.limit_manager.resolve_limits

    def noted(app, endpoint, *args, **kwargs):
        resolved.append(endpoint)
        return resolve(app, endpoint, *args, **kwargs)

    monkeypatch.setattr(limiter.limit_manager, "resolve_limits", noted)
    client = client_from(locked_app, NEIGHBOUR)
    assert log_in(client, PASSWORD).status_code == 303
    assert client.get("/").status_code == 200
    assert client.get("/healthz").status_code == 200
    bearer = {"Authorization": f"Bearer {TOKENS[0]}"}
    assert client.get("/api/v1/keys/1", headers=bearer).status_code == 200
    assert resolved == ["login.log_in", "api.get_key"]
