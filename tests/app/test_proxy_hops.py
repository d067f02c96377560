"""X-Forwarded-* headers are trusted for exactly PROXY_HOPS proxies, and ignored with 0."""

import json

from conftest import PASSWORD
from helpers import csrf_token

REAL, FORGED = "192.0.2.10", "203.0.113.99"


def access_lines(capsys) -> list[dict]:
    """The access lines written so far."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return [line for line in lines if line["logger"] == "dockerapp.access"]


def test_without_proxy_hops_a_forged_forwarded_for_changes_nothing(capsys, make_locked_app):
    client = make_locked_app().test_client()
    client.environ_base["REMOTE_ADDR"] = REAL
    for n in range(10):  # each from a "new" address, by the attacker's header
        forged = {"X-Forwarded-For": f"198.51.100.{n}", "X-Forwarded-Proto": "https"}
        assert client.get("/api/v1/keys/1", headers=forged).status_code == 401
    limited = client.get("/api/v1/keys/1", headers={"X-Forwarded-For": FORGED})
    assert limited.status_code == 429  # all ten counted against the real address
    assert {line["remote_addr"] for line in access_lines(capsys)} == {REAL}


def test_with_one_hop_the_proxy_s_forwarded_for_is_the_client(capsys, make_locked_app):
    client = make_locked_app(proxy_hops=1).test_client()
    client.environ_base["REMOTE_ADDR"] = "172.18.0.5"  # the proxy
    # The client's own forged entry comes first; the proxy appends the address it saw.
    headers = {"X-Forwarded-For": f"{FORGED}, {REAL}"}
    for _ in range(10):
        assert client.get("/api/v1/keys/1", headers=headers).status_code == 401
    assert client.get("/api/v1/keys/1", headers=headers).status_code == 429
    other = {"X-Forwarded-For": f"{FORGED}, 192.0.2.77"}  # another client, same proxy
    assert client.get("/api/v1/keys/1", headers=other).status_code == 401
    addresses = [line["remote_addr"] for line in access_lines(capsys)]
    assert addresses == [REAL] * 11 + ["192.0.2.77"]


def test_with_one_hop_the_forwarded_proto_makes_the_login_https(make_locked_app):
    client = make_locked_app(proxy_hops=1).test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "dockerapp.test"}
    token = csrf_token(client.get("/login", headers=https).text)
    form = {"username": "alice", "password": PASSWORD, "csrf_token": token}
    # Over HTTPS Flask-WTF also wants a same-origin Referer, which the Referrer-Policy keeps.
    without_referer = client.post("/login", data=form, headers=https)
    assert without_referer.status_code == 400
    assert "referrer header is missing" in without_referer.text
    referer = {**https, "Referer": "https://dockerapp.test/login"}
    response = client.post("/login", data=form, headers=referer)
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
