"""Lookups with a deadline: IP addresses, /etc/hosts, then a real DNS server that may stall."""

import socket
import time

import pytest
from dns_server import DnsServer

from app import name_lookup
from app.name_lookup import LookupTimedOut, NoSuchName, addresses

NAME = "redis.lookup.test"
DEADLINE = 0.2
# A lookup that did not wait for the stalled server's answer ends well within this; one that
# waited would take dnspython's default lifetime (5 s) or, through glibc, the resolver's.
WELL_BEFORE_A_STALL_ENDS = 2.0


@pytest.fixture
def dns(monkeypatch):
    """The app's lookups ask a real DNS server, which knows NAME (as 127.0.0.1) until stalled."""
    with DnsServer({NAME: "127.0.0.1"}) as server:
        monkeypatch.setattr(name_lookup, "system_resolver", server.resolver)
        yield server


@pytest.fixture
def hosts_file(tmp_path, monkeypatch):
    path = tmp_path / "hosts"
    path.write_text(
        "127.0.0.1\tlocalhost\n"
        "::1 localhost ip6-localhost  # the loopback\n"
        "# 10.9.9.9 commented.test\n"
        "10.1.2.3 Listed.Test listed-alias\n"
    )
    monkeypatch.setattr(name_lookup, "HOSTS_FILE", path)
    return path


def test_a_name_is_answered_by_the_dns_server(dns):
    assert addresses(NAME, DEADLINE) == ["127.0.0.1"]
    assert dns.queries == 2  # AAAA and A, as getaddrinfo asks


def test_an_ip_address_is_its_own_answer_without_a_query(dns):
    dns.stall()
    assert addresses("10.0.0.7", DEADLINE) == ["10.0.0.7"]
    assert addresses("fd00::7", DEADLINE) == ["fd00::7"]
    assert addresses("10.0.0.7", DEADLINE, socket.AF_INET6) == []
    assert dns.queries == 0


def test_names_in_the_hosts_file_are_answered_from_it_without_a_query(dns, hosts_file):
    dns.stall()
    assert addresses("localhost", DEADLINE) == ["127.0.0.1", "::1"]
    assert addresses("localhost", DEADLINE, socket.AF_INET) == ["127.0.0.1"]
    assert addresses("listed.test", DEADLINE) == ["10.1.2.3"]  # names match without case
    assert addresses("listed-alias", DEADLINE) == ["10.1.2.3"]
    assert dns.queries == 0
    with pytest.raises(LookupTimedOut):  # a commented-out line is no entry
        addresses("commented.test", DEADLINE)


def test_the_real_hosts_file_answers_localhost(dns):
    dns.stall()
    assert "127.0.0.1" in addresses("localhost", DEADLINE)
    assert dns.queries == 0


def test_a_name_the_server_does_not_know_is_an_answer_not_a_timeout(dns):
    with pytest.raises(NoSuchName, match="does not exist") as raised:
        addresses("unknown.lookup.test", DEADLINE)
    assert isinstance(raised.value, OSError)  # redis-py reports it as a ConnectionError


def test_a_stalled_lookup_fails_at_the_deadline(dns):
    dns.stall()
    started = time.monotonic()
    with pytest.raises(LookupTimedOut, match=r"looking up redis\.lookup\.test took over 0\.2 s"):
        addresses(NAME, DEADLINE)
    assert time.monotonic() - started < WELL_BEFORE_A_STALL_ENDS
    assert dns.queries >= 1


def test_once_the_server_answers_again_the_next_lookup_gets_the_answer(dns):
    dns.stall()
    for _ in range(3):  # lookups failed during an outage leave nothing to wait behind
        with pytest.raises(LookupTimedOut):
            addresses(NAME, DEADLINE)
    dns.answer_again()
    assert addresses(NAME, DEADLINE) == ["127.0.0.1"]
