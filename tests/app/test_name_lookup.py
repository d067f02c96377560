"""Lookups with a deadline: shared while in flight, never queued behind a stuck one, bounded."""

import socket
import threading
import time

import pytest
from stalling_dns import StallingDns

from app.name_lookup import LookupTimedOut, NameLookups

NAME = "redis.lookup.test"


@pytest.fixture
def dns(monkeypatch):
    """NAME resolves as localhost until stalled."""
    stalling = StallingDns(NAME, "localhost")
    monkeypatch.setattr(socket, "getaddrinfo", stalling.getaddrinfo)
    yield stalling
    stalling.release()


def wait_until(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_an_answer_comes_back_as_getaddrinfo_gives_it(dns):
    lookups = NameLookups(deadline=1.0, max_in_flight=2)
    expected = socket.getaddrinfo("localhost", 6379, 0, socket.SOCK_STREAM)
    assert lookups.resolve(NAME, 6379) == expected


def test_a_name_that_does_not_exist_is_an_answer_not_a_timeout(monkeypatch):
    def no_such_name(*_):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    lookups = NameLookups(deadline=1.0, max_in_flight=2)
    with pytest.raises(socket.gaierror, match="not known"):
        lookups.resolve(NAME, 6379)
    assert lookups.in_flight() == 0


def test_a_stalled_lookup_times_out_at_the_deadline(dns):
    lookups = NameLookups(deadline=0.2, max_in_flight=2)
    dns.stall()
    started = time.monotonic()
    with pytest.raises(LookupTimedOut, match=r"took over 0\.2 s"):
        lookups.resolve(NAME, 6379)
    assert time.monotonic() - started < 1.0


def test_callers_share_the_lookup_in_flight(dns):
    lookups = NameLookups(deadline=2.0, max_in_flight=8)
    dns.stall()
    outcomes = []
    callers = [
        threading.Thread(target=lambda: outcomes.append(catch(lookups.resolve, NAME, 6379)))
        for _ in range(10)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)
    assert outcomes == [LookupTimedOut] * 10
    assert dns.lookups == 1


def test_once_the_name_resolves_again_the_next_lookup_does_not_wait_for_stuck_ones(dns):
    lookups = NameLookups(deadline=0.2, max_in_flight=8)
    dns.stall()
    for _ in range(3):  # three lookups stuck, as in an outage under load
        with pytest.raises(LookupTimedOut):
            lookups.resolve(NAME, 6379)
    assert lookups.in_flight() == 3
    dns.answer_again()
    assert lookups.resolve(NAME, 6379)  # a fresh lookup, not one queued behind the stuck three
    assert lookups.in_flight() == 3


def test_lookup_threads_stay_bounded_and_callers_then_fail_at_once(dns):
    lookups = NameLookups(deadline=0.05, max_in_flight=3)
    dns.stall()
    for _ in range(20):
        with pytest.raises(LookupTimedOut):
            lookups.resolve(NAME, 6379)
    assert (lookups.in_flight(), dns.lookups) == (3, 3)
    with pytest.raises(LookupTimedOut, match="3 lookups are already waiting"):
        lookups.resolve("another.lookup.test", 6379)
    dns.release()
    assert wait_until(lambda: lookups.in_flight() == 0), "finished lookups must free their place"
    dns.answer_again()
    assert lookups.resolve(NAME, 6379)


def catch(call, *args):
    """The exception class that call(*args) raised, or None."""
    try:
        call(*args)
    except Exception as error:  # the test compares the classes
        return type(error)
    return None
