"""/healthz (no Redis, version and revision) and /readyz (Redis PING)."""

import socket

from app.config import Settings


def test_healthz_reports_status_version_revision_and_host(make_app):
    client = make_app(version="1.2.3", revision="abc1234").test_client()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "version": "1.2.3",
        "revision": "abc1234",
        "hostname": socket.gethostname(),
    }


def test_version_and_revision_come_from_the_environment():
    settings = Settings.from_environ({"APP_VERSION": "2.0.0", "GIT_REVISION": "deadbee"})
    assert (settings.version, settings.revision) == ("2.0.0", "deadbee")


def test_version_and_revision_have_defaults():
    settings = Settings.from_environ({})
    assert (settings.version, settings.revision) == ("dev", "unknown")


def test_healthz_makes_no_redis_call(flaky_app, forwarder):
    # Counted on the wire: a call whose error the app swallowed would still send its bytes.
    client = flaky_app.test_client()
    sent_before = forwarder.bytes_to_target
    assert client.get("/healthz").status_code == 200
    assert forwarder.bytes_to_target == sent_before
    # The count sees calls: /readyz's PING goes through the same hop.
    assert client.get("/readyz").status_code == 200
    assert forwarder.bytes_to_target > sent_before


def test_healthz_answers_with_redis_away(flaky_app, forwarder):
    forwarder.cut()
    assert flaky_app.test_client().get("/healthz").status_code == 200


def test_readyz_is_200_when_redis_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_readyz_is_503_when_redis_is_away(flaky_app, forwarder):
    forwarder.cut()
    response = flaky_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
