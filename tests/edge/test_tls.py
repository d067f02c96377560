"""HTTPS at the edge: a certificate from the ACME CA, TLS 1.2+ only, redirect, HSTS, one door."""

import socket
import ssl

import pytest
import requests

from .stack import DOMAIN

TIMEOUT = 10


def test_a_client_trusting_only_pebbles_root_gets_a_valid_chain_for_the_domain(edge):
    certificate = edge.served_certificate()  # verified: chain to the root, name, dates
    assert ("DNS", DOMAIN) in certificate["subjectAltName"]
    issuer = dict(field for entry in certificate["issuer"] for field in entry)
    assert "Pebble" in issuer["commonName"]  # Pebble's intermediate, not Caddy's internal CA
    assert edge.issued_serials() == [int(certificate["serialNumber"], 16)]


def test_the_system_roots_do_not_vouch_for_the_test_certificate(edge):
    # The counterpart of the check above: trust comes from Pebble's root, nothing else.
    with pytest.raises(ssl.SSLCertVerificationError):
        edge.served_certificate(ssl.create_default_context())


def test_https_reaches_the_app(edge):
    response = requests.get(edge.url("/healthz"), verify=edge.root_file, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_http_is_redirected_to_https(edge):
    response = requests.get(
        f"http://{DOMAIN}:{edge.http_port}/api/v1/keys?limit=1",
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code in (301, 308)  # permanent: clients remember it
    assert response.headers["Location"] == f"https://{DOMAIN}/api/v1/keys?limit=1"


def test_https_answers_carry_hsts(edge):
    response = requests.get(edge.url("/healthz"), verify=edge.root_file, timeout=TIMEOUT)
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 180 * 24 * 3600  # half a year at least, as hstspreload.org asks


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1], ids=["TLS 1.0", "TLS 1.1"]
)
def test_tls_1_0_and_1_1_are_refused_by_the_server(edge, version):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(edge.root_file)
    # OpenSSL 3 refuses these versions itself at its default security level: level 0 lets this
    # client offer them, so a failure below is the server's answer, not the client's.
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.minimum_version = context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", edge.https_port), timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLError) as refused,
    ):
        context.wrap_socket(raw, server_hostname=DOMAIN)
    assert "PROTOCOL_VERSION" in refused.value.reason.upper(), refused.value  # the server's alert


@pytest.mark.parametrize(
    "version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3], ids=["TLS 1.2", "TLS 1.3"]
)
def test_tls_1_2_and_1_3_are_served(edge, version):
    context = edge.trusting_context()
    context.minimum_version = context.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", edge.https_port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        assert tls.version() == version.name.replace("_", ".")


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/", "/METRICS", "/%6Detrics", "//metrics", "/metrics?x=1"]
)
def test_metrics_are_not_reachable_through_the_proxy(edge, path):
    response = requests.get(
        edge.url(path), verify=edge.root_file, timeout=TIMEOUT, allow_redirects=True
    )
    assert response.status_code in (403, 404)
    assert "dockerapp_" not in response.text and "# TYPE" not in response.text


def test_the_app_is_published_nowhere_and_sits_only_on_internal_networks(edge):
    (app,) = edge.containers("dockerapp")
    state = edge.inspect(app)
    assert not any(state["NetworkSettings"]["Ports"].values())
    assert not state["HostConfig"]["PortBindings"]
    assert edge.compose("port", "dockerapp", "5000", check=False).returncode != 0
    for network in state["NetworkSettings"]["Networks"]:
        assert edge.inspect(network)["Internal"] is True, network


def test_only_the_proxy_publishes_ports_and_only_80_and_443(edge):
    (caddy,) = edge.containers("caddy")
    bindings = [
        (port, binding["HostIp"], binding["HostPort"])
        for port, found in edge.inspect(caddy)["NetworkSettings"]["Ports"].items()
        for binding in found or []
    ]
    assert {port for port, _, _ in bindings} == {"80/tcp", "443/tcp", "443/udp"}
    assert {address for _, address, _ in bindings} == {"127.0.0.1"}  # DOCKERAPP_ADDRESS here
    (redis,) = edge.containers("redis")
    assert not any(edge.inspect(redis)["NetworkSettings"]["Ports"].values())
