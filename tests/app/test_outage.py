"""Redis going away mid-test and coming back: friendly 503s, health stays up, no restart."""

import socket
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from dns_server import DnsServer
from helpers import csrf_token

from app import name_lookup

ONE_SECOND = 1.0


def test_everything_works_through_the_forwarder(flaky_app):
    client = flaky_app.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 200


def test_redis_down_gives_503_page_and_api_problem_then_recovers(flaky_app, forwarder):
    client = flaky_app.test_client()
    assert client.put("/api/v1/keys/k", json={"value": "before"}).status_code == 201

    forwarder.cut()
    page = client.get("/")
    assert page.status_code == 503
    assert page.mimetype == "text/html"
    assert "Storage is unavailable" in page.text
    api = client.get("/api/v1/keys/k")
    assert api.status_code == 503
    assert api.mimetype == "application/problem+json"
    assert api.json["status"] == 503
    assert int(api.headers["Retry-After"]) > 0
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503

    forwarder.restore()
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/keys/k").json["value"] == "before"
    assert client.get("/").status_code == 200


def test_a_redis_restart_between_requests_is_invisible(flaky_app, forwarder):
    client = flaky_app.test_client()
    assert client.put("/api/v1/keys/k", json={"value": "v"}).status_code == 201
    forwarder.cut()  # drops the pooled connection, as a Redis restart does
    forwarder.restore()
    assert client.get("/api/v1/keys/k").status_code == 200  # reconnected, no 503


def test_every_api_operation_answers_503_while_redis_is_down(flaky_app, forwarder):
    client = flaky_app.test_client()
    forwarder.cut()
    for response in (
        client.get("/api/v1/keys"),
        client.get("/api/v1/keys/k"),
        client.put("/api/v1/keys/k", json={"value": "v"}),
        client.delete("/api/v1/keys/k"),
    ):
        assert response.status_code == 503
        assert response.headers["Retry-After"]


def test_post_of_the_form_while_redis_is_down_is_a_503_page(flaky_app, forwarder):
    client = flaky_app.test_client()
    token = csrf_token(client.get("/").text)
    forwarder.cut()
    response = client.post(
        "/", data={"csrf_token": token, "key": "k", "cache_value": "v", "submit": "save"}
    )
    assert response.status_code == 503
    assert "Storage is unavailable" in response.text


@pytest.mark.parametrize("path", ["/readyz", "/api/v1/keys/1"])
def test_answers_503_within_a_second_when_redis_hangs(flaky_app, forwarder, path):
    client = flaky_app.test_client()
    assert client.get("/readyz").status_code == 200  # a pooled connection now exists
    forwarder.stall()
    started = time.monotonic()
    response = client.get(path)
    assert time.monotonic() - started < ONE_SECOND
    assert response.status_code == 503
    forwarder.restore()


def test_app_starts_and_serves_health_while_redis_is_down(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 503
    assert client.get("/").status_code == 503


def test_readyz_answers_within_a_second_when_the_redis_name_lookup_hangs(make_app, monkeypatch):
    # In Compose, the name of a stopped Redis container goes to the upstream DNS server, which
    # may take seconds to answer; here a real DNS server that answers nothing stands in for it.
    with DnsServer({}) as dns:
        dns.stall()
        monkeypatch.setattr(name_lookup, "system_resolver", dns.resolver)
        client = make_app(redis_url="redis://stopped-redis.test:6379/0").test_client()
        started = time.monotonic()
        response = client.get("/readyz")
        assert time.monotonic() - started < ONE_SECOND
        assert response.status_code == 503
        assert dns.queries >= 1  # the name was looked up, and not answered


def test_the_first_requests_after_a_dns_stall_reach_redis(make_app, redis_url, monkeypatch):
    # An outage under load makes many lookups of the Redis name go unanswered. Once the name
    # resolves again, requests must not wait behind them.
    parts = urlsplit(redis_url)
    alias = "redis-behind-stalling-dns.test"
    with DnsServer({alias: socket.gethostbyname(parts.hostname)}) as dns:
        monkeypatch.setattr(name_lookup, "system_resolver", dns.resolver)
        netloc = parts.netloc.replace(parts.hostname, alias, 1)
        client = make_app(redis_url=urlunsplit(parts._replace(netloc=netloc))).test_client()
        assert client.get("/readyz").status_code == 200
        dns.stall()
        client.application.extensions["store"].client.connection_pool.disconnect()  # Redis gone
        for _ in range(3):
            started = time.monotonic()
            assert client.get("/api/v1/keys/1").status_code == 503
            assert time.monotonic() - started < ONE_SECOND
        dns.answer_again()
        assert client.get("/readyz").status_code == 200
        assert client.get("/api/v1/keys/1").status_code == 200
