"""Replicas and Sentinel, all real processes: writes a replica confirmed, the primary found
through Sentinel, and a failover the app follows without a restart."""

import pytest
from helpers import assert_problem, csrf_token
from redis_processes import (
    PRIMARY_NAME,
    RedisProcesses,
    peers_seen_by,
    port_of,
    primary_port_by,
    wait_until,
)

KEY_URL = "/api/v1/keys/replicated"


@pytest.fixture
def servers():
    processes = RedisProcesses()
    yield processes
    processes.stop_all()


@pytest.fixture
def primary(servers):
    return servers.server()


@pytest.fixture
def replica(servers, primary):
    return servers.replica_of(primary)


@pytest.fixture
def sentinels(servers, primary, replica):
    """Two Sentinels that know each other (the app trusts no Sentinel that sees no peer)."""
    pair = [servers.sentinel(primary), servers.sentinel(primary)]
    for sentinel in pair:
        wait_until(lambda sentinel=sentinel: peers_seen_by(sentinel) == 1, 20, "Sentinels meet")
    return pair


def app_through(sentinels, make_app):
    """The app finding its primary through `sentinels`, confirming writes with one replica."""
    addresses = tuple(("127.0.0.1", port_of(sentinel)) for sentinel in sentinels)
    return make_app(
        redis_sentinels=addresses, redis_primary_name=PRIMARY_NAME, redis_min_replicas_acked=1
    )


def assert_may_or_may_not_be_applied(response) -> None:
    assert_problem(response, 503)
    assert "may or may not have been applied" in response.json["detail"]
    assert int(response.headers["Retry-After"]) > 0


def test_a_write_succeeds_only_once_a_replica_has_it(make_app, primary, replica):
    client = make_app(redis_url=f"redis://127.0.0.1:{port_of(primary)}/0",
                      redis_min_replicas_acked=1).test_client()  # fmt: skip
    assert client.put(KEY_URL, json={"value": "v1"}).status_code == 201
    # No waiting here: the 201 came after WAIT said the replica had it.
    assert replica.get("dockerapp:key:replicated") == "v1"
    assert client.delete(KEY_URL).status_code == 204
    assert replica.get("dockerapp:key:replicated") is None


def test_a_write_no_replica_confirms_is_a_503_that_says_it_may_have_been_applied(
    make_app, primary, replica
):
    client = make_app(redis_url=f"redis://127.0.0.1:{port_of(primary)}/0",
                      redis_min_replicas_acked=1).test_client()  # fmt: skip
    assert client.put(KEY_URL, json={"value": "before"}).status_code == 201
    replica.replicaof("NO", "ONE")  # the primary has no replica any more
    assert_may_or_may_not_be_applied(client.put(KEY_URL, json={"value": "unconfirmed"}))
    # ... and it was applied, on the primary alone: why the answer cannot say "not saved".
    assert primary.get("dockerapp:key:replicated") == "unconfirmed"
    assert_may_or_may_not_be_applied(client.delete(KEY_URL))

    page = client.get("/")
    saved = client.post(
        "/",
        data={
            "key": "k",
            "cache_value": "v",
            "submit": "save",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert saved.status_code == 503
    assert "may or may not have been applied" in saved.text


def test_without_replicas_to_confirm_a_write_does_not_wait_for_one(make_app, primary, replica):
    replica.replicaof("NO", "ONE")
    client = make_app(redis_url=f"redis://127.0.0.1:{port_of(primary)}/0").test_client()
    assert client.put(KEY_URL, json={"value": "v"}).status_code == 201


def test_through_sentinel_the_app_writes_to_the_primary(make_app, primary, replica, sentinels):
    client = app_through(sentinels, make_app).test_client()
    assert client.get("/readyz").status_code == 200
    assert client.put(KEY_URL, json={"value": "v"}).status_code == 201
    assert primary.get("dockerapp:key:replicated") == "v"
    assert client.get(KEY_URL).json["value"] == "v"


def test_after_a_failover_the_app_writes_to_the_new_primary_without_a_restart(
    make_app, primary, replica, sentinels
):
    client = app_through(sentinels, make_app).test_client()
    assert client.put(KEY_URL, json={"value": "before"}).status_code == 201
    # A forced failover: Sentinel promotes the replica and turns the old primary into its replica.
    sentinels[0].sentinel_failover(PRIMARY_NAME)
    new_port = port_of(replica)
    wait_until(lambda: primary_port_by(sentinels[1]) == new_port, 20, "the replica is promoted")
    statuses = []

    def written() -> bool:
        statuses.append(client.put(KEY_URL, json={"value": "after"}).status_code)
        return statuses[-1] == 200

    # The old primary may hold pooled connections until it turns replica: 503s, never a 500.
    wait_until(written, 20, "a write succeeds on the new primary")
    assert set(statuses) <= {200, 503}, statuses
    assert replica.get("dockerapp:key:replicated") == "after"  # the new primary has it
    assert client.get(KEY_URL).json["value"] == "after"
    assert client.get("/readyz").status_code == 200


def test_no_sentinel_answering_is_a_fast_503_not_a_hang(make_app, servers):
    unused = servers.server()  # a port where no Sentinel listens once this server stops
    address = ("127.0.0.1", port_of(unused))
    servers.stop_all()
    client = make_app(redis_sentinels=(address,), redis_primary_name=PRIMARY_NAME).test_client()
    readiness = client.get("/readyz")
    assert readiness.status_code == 503
    assert_problem(client.put(KEY_URL, json={"value": "v"}), 503)
    assert_problem(client.get(KEY_URL), 503)
