"""A Redis TCP connection whose host name lookup has a deadline, like its connect and reads.

redis-py's timeouts start once the address is known; the lookup before it is the system
resolver's, which can take seconds. In Compose, a stopped Redis container's name is passed to
the upstream DNS server, so without this bound every request during the outage would wait
for it instead of getting a fast 503; app/name_lookup.py also keeps the lookups that got stuck
then from delaying the first requests once Redis is back.
"""

import socket

import redis
from redis.connection import Connection

from app.name_lookup import LookupTimedOut, NameLookups

LOOKUP_TIMEOUT_SECONDS = 0.25
# Per worker process. 16 lookups at a time of a stopped container's name: one in five stalled
# for 4 s on this project's machines. With 8, the SIGKILL proof check ran out of threads in 1
# run of 6 (503s for 1.5 s after Redis was back); with 24 it passed 6 of 6 (docs/reliability.md).
MAX_LOOKUPS_IN_FLIGHT = 24
_lookups = NameLookups(LOOKUP_TIMEOUT_SECONDS, MAX_LOOKUPS_IN_FLIGHT)


class DeadlineLookupConnection(Connection):
    """redis-py's TCP connection, refusing to wait longer than the deadline for a lookup."""

    def _connect(self) -> socket.socket:
        try:
            addresses = _lookups.resolve(self.host, self.port, self.socket_type)
        except LookupTimedOut as error:
            # A TimeoutError, like a connect timeout: redis-py does not retry it.
            raise redis.TimeoutError(str(error)) from None
        # redis-py's own _connect looks the name up again, with no deadline: hand it each
        # address instead (a numeric host needs no lookup), and keep the name for its messages.
        name, error = self.host, OSError(f"no address for {self.host}")
        for *_, socket_address in addresses:
            self.host = socket_address[0]
            try:
                return super()._connect()
            except OSError as refused:
                error = refused
            finally:
                self.host = name
        raise error
