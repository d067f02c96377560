"""A Redis TCP connection whose host name lookup has a deadline, like its connect and reads.

redis-py's timeouts start once the address is known; the lookup before it is the system
resolver's, which can take seconds. In Compose, a stopped Redis container's name is passed to
the upstream DNS server, so without this bound every request during the outage would wait
for it instead of getting a fast 503.
"""

import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimedOut

import redis
from redis.connection import Connection

LOOKUP_TIMEOUT_SECONDS = 0.25
# A stuck lookup keeps its thread until the resolver gives up; a small pool bounds them, and a
# lookup queued behind stuck ones times out the same way.
_resolver = ThreadPoolExecutor(max_workers=2, thread_name_prefix="redis-lookup")


class DeadlineLookupConnection(Connection):
    """redis-py's TCP connection, refusing to wait longer than the deadline for a lookup."""

    def _connect(self) -> socket.socket:
        lookup = _resolver.submit(
            socket.getaddrinfo, self.host, self.port, self.socket_type, socket.SOCK_STREAM
        )
        try:
            lookup.result(timeout=LOOKUP_TIMEOUT_SECONDS)
        except LookupTimedOut:
            # A TimeoutError, like a connect timeout: redis-py does not retry it.
            raise redis.TimeoutError(
                f"looking up {self.host} took over {LOOKUP_TIMEOUT_SECONDS} s"
            ) from None
        # The answer is fresh, so the lookup redis-py repeats inside is quick.
        return super()._connect()
