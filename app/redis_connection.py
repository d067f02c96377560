"""A Redis TCP connection whose host name lookup has a deadline, like its connect and reads.

redis-py's timeouts start once the address is known; the lookup before it is the system
resolver's, which can take seconds. In Compose, a stopped Redis container's name is passed to
the upstream DNS server, so without this bound every request during the outage would wait
for it instead of getting a fast 503 (app/name_lookup.py).

redis-py has no hook for the lookup: each connection class implements `_connect()` (TCP, TLS,
a unix socket, Sentinel's), and this one looks the name up, then lets redis-py's TCP
`_connect()` open the socket to an address, which it does without a lookup of its own.
"""

import socket

import redis
from redis.connection import Connection

from app.name_lookup import LookupTimedOut, addresses

LOOKUP_DEADLINE_SECONDS = 0.25


class DeadlineLookupConnection(Connection):
    """redis-py's TCP connection, refusing to wait longer than the deadline for a lookup."""

    def _connect(self) -> socket.socket:
        name = self.host
        try:
            found = addresses(name, LOOKUP_DEADLINE_SECONDS, self.socket_type)
        except LookupTimedOut as timed_out:
            # A TimeoutError, like a connect timeout: the store's retry does not repeat it.
            raise redis.TimeoutError(str(timed_out)) from None
        failure: OSError = socket.gaierror(socket.EAI_NONAME, f"no address for {name}")
        for address in found:  # as getaddrinfo's answers: the first that accepts
            self.host = address
            try:
                return super()._connect()
            except OSError as refused:
                failure = refused
            finally:
                self.host = name  # redis-py's messages name the host as configured
        raise failure
