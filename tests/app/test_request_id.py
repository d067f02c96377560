"""X-Request-ID: a valid incoming id is kept, otherwise one is generated; always echoed."""

import json

import pytest


def test_a_valid_incoming_request_id_is_kept(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123.DEF_456"})
    assert response.headers["X-Request-ID"] == "abc-123.DEF_456"


def test_a_request_id_is_generated_when_none_is_sent(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize(
    "incoming", ["", "x" * 129, "has space", "semi;colon", 'quote"d', "new\\nline", "ünï"]
)
def test_an_invalid_incoming_request_id_is_replaced(client, incoming):
    returned = client.get("/healthz", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert returned != incoming
    assert len(returned) == 32


def test_the_request_id_is_in_the_access_log_line(capsys, make_app):
    client = make_app().test_client()
    client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert any(line.get("request_id") == "trace-me-42" for line in lines)


def test_error_responses_carry_a_request_id_too(client):
    assert client.get("/api/v1/keys/absent").headers["X-Request-ID"]
    assert client.delete("/").headers["X-Request-ID"]
