"""Reaching the Redis primary through Redis Sentinel (REDIS_SENTINELS), with redis-py's own support.

Each new pooled connection asks the Sentinels where the primary is, so after a failover the app
writes to the new primary without a restart. While there is none (the Sentinels still agree on
a successor), redis-py raises MasterNotFoundError, a ConnectionError: the store turns it into a
fast 503, as for any Redis outage.
"""

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelManagedConnection

from app.config import Settings
from app.redis_connection import DeadlineLookupConnection

# A Sentinel that answers but sees no peer may be cut off from the others (or just restarted with
# an old view): its word on who is primary does not count.
MIN_OTHER_SENTINELS = 1


class DeadlineLookupSentinelConnection(SentinelManagedConnection, DeadlineLookupConnection):
    """A connection to the primary the Sentinels name, whose name lookup has a deadline.

    Sentinel announces host names (stack.yml and k8s set announce-hostnames), so every new
    connection looks one up; a stopped node's name must not stall a request.
    """


def primary_client(settings: Settings, connect_timeout: float, read_timeout: float, retry: Retry):
    """A client of the current primary; it connects lazily, on the first command."""
    # Sentinel() builds its own clients of the Sentinels, which cannot take a connection class;
    # these replace them, so that a Sentinel's name lookup has the same deadline as Redis's.
    sentinel = Sentinel([], min_other_sentinels=MIN_OTHER_SENTINELS)
    sentinel.sentinels = [
        redis.Redis(
            connection_pool=redis.ConnectionPool(
                host=host,
                port=port,
                connection_class=DeadlineLookupConnection,
                # The Sentinels share the Redis password (one secret; Sentinel's requirepass).
                password=settings.redis_password,
                socket_connect_timeout=connect_timeout,
                socket_timeout=read_timeout,
                # An unreachable Sentinel costs one timeout, then the next one is asked.
                retry=Retry(NoBackoff(), 0),
            )
        )
        for host, port in settings.redis_sentinels
    ]
    return sentinel.master_for(
        settings.redis_primary_name,
        password=settings.redis_password,
        decode_responses=True,
        socket_connect_timeout=connect_timeout,
        socket_timeout=read_timeout,
        retry=retry,
        connection_class=DeadlineLookupSentinelConnection,
    )


def is_writable_primary(client: redis.Redis) -> bool:
    """Whether `client` reaches a primary (ROLE says master), not a replica that was one."""
    return client.execute_command("ROLE")[0] == "master"
