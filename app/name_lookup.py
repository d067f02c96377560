"""Host name lookups with a deadline, which never queue behind a stuck lookup.

socket.getaddrinfo cannot be cancelled: a lookup that the DNS server does not answer keeps its
thread for the resolver's own timeout (Docker's embedded DNS gives up on its upstream after
about 4 s). So the caller waits for the answer in the background, for at most a deadline, and
two rules keep lookups that got stuck during an outage from delaying the recovery:
- callers share the lookup of a name already in flight, so an outage under load starts a few
  lookups, not one per request;
- a lookup in flight for longer than the deadline is taken to be stuck and no longer shared:
  the next caller starts a fresh one, so the first lookup made once the name resolves again
  gets its answer. (A fixed pool of threads would queue it behind the stuck ones instead.)
Each lookup is a thread, and threads count against the container's pids limit: at most
`max_in_flight` run at once, and beyond that callers fail at once.
"""

import socket
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

AddressInfo = tuple  # (family, type, proto, canonname, sockaddr), as getaddrinfo gives them


class LookupTimedOut(TimeoutError):
    """No answer for the name within the deadline."""


@dataclass
class _Lookup:
    answer: Future = field(default_factory=Future)
    started: float = field(default_factory=time.monotonic)

    def running(self) -> bool:
        return not self.answer.done()


class NameLookups:
    """TCP address lookups that give up after `deadline` seconds; safe to share between threads."""

    def __init__(self, deadline: float, max_in_flight: int):
        self.deadline = deadline
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._newest: dict[tuple[str, int, int], _Lookup] = {}
        self._in_flight = 0

    def resolve(self, host: str, port: int, family: int = 0) -> list[AddressInfo]:
        """getaddrinfo's answer for a TCP connection to host:port, or LookupTimedOut."""
        lookup = self._lookup_to_wait_for((host, port, family))
        if lookup is None:
            raise LookupTimedOut(f"{self.max_in_flight} lookups are already waiting for an answer")
        try:
            return lookup.answer.result(timeout=lookup.started + self.deadline - time.monotonic())
        except TimeoutError:
            raise LookupTimedOut(f"looking up {host} took over {self.deadline} s") from None

    def in_flight(self) -> int:
        """How many lookups are running now (each holds a thread)."""
        with self._lock:
            return self._in_flight

    def _lookup_to_wait_for(self, name: tuple[str, int, int]) -> _Lookup | None:
        with self._lock:
            newest = self._newest.get(name)
            fresh = newest is not None and time.monotonic() - newest.started < self.deadline
            if fresh and newest.running():
                return newest  # in flight and not stuck (yet): shared
            if self._in_flight >= self.max_in_flight:
                return None  # stuck lookups hold every thread this process allows
            lookup = self._newest[name] = _Lookup()
            self._in_flight += 1
        try:
            threading.Thread(
                target=self._look_up, args=(name, lookup), name="name-lookup", daemon=True
            ).start()
        except RuntimeError as error:  # no thread to be had (the pids limit): an answer too
            self._finished(lookup).set_exception(error)
        return lookup

    def _look_up(self, name: tuple[str, int, int], lookup: _Lookup) -> None:
        host, port, family = name
        try:
            answer = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
        except BaseException as error:  # a failed lookup (gaierror) is an answer too
            self._finished(lookup).set_exception(error)
        else:
            self._finished(lookup).set_result(answer)

    def _finished(self, lookup: _Lookup) -> Future:
        """Count `lookup` out of those in flight, before its answer wakes the callers."""
        with self._lock:
            self._in_flight -= 1
        return lookup.answer
