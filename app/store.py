"""The Redis store: all app keys under one prefix, user keys kept apart from internal ones."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.config import Settings
from app.metrics import REDIS_ERRORS
from app.redis_connection import DeadlineLookupConnection

NAMESPACE = "dockerapp:"
USER_KEYS = NAMESPACE + "key:"  # what the page and the API read and write
VISITS = NAMESPACE + "meta:visits"
SEEDED = NAMESPACE + "meta:seeded"
SEED = ("1", "one")  # the original dockerapp's first entry

# Sub-second timeouts keep /readyz under a second and make an outage a fast 503, not a hang.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 0.5
SCAN_BATCH = 250
MAX_SCAN_CALLS = 40  # bounds one listing request; the client continues with next_cursor
# "<SCAN cursor>-<keys to skip>"; 19 digits always fit SCAN's unsigned 64-bit cursor.
CURSOR_PATTERN = re.compile(r"([0-9]{1,19})-([0-9]{1,9})")


class StorageUnavailable(RuntimeError):
    """Redis could not be reached or did not answer in time."""


class InvalidCursor(ValueError):
    """A listing cursor that this store did not hand out."""


@dataclass(frozen=True)
class Entry:
    """A stored value and its remaining lifetime in seconds (None: no expiry)."""

    value: str
    ttl: int | None


class Store:
    """Key-value operations on Redis; raises StorageUnavailable when Redis is away."""

    def __init__(self, client: redis.Redis):
        self.client = client
        self._seeded = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        """Create the store; redis-py connects lazily, so nothing touches Redis here."""
        options = {}
        if settings.redis_url.startswith("redis://"):  # plain TCP; TLS and unix keep their own
            options["connection_class"] = DeadlineLookupConnection
        client = redis.Redis.from_url(
            settings.redis_url,
            password=settings.redis_password,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
            socket_timeout=READ_TIMEOUT_SECONDS,
            # One immediate retry replaces a pooled connection that died with a Redis restart;
            # timeouts are not retried, so an unresponsive Redis costs one timeout, not several.
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            **options,
        )
        return cls(client)

    def ping(self) -> None:
        """Check that Redis answers."""
        with reaching_redis():
            self.client.ping()

    def count_visit(self) -> int:
        """Count one page view and return the total."""
        with reaching_redis():
            self._seed_once()
            return self.client.incr(VISITS)

    def get(self, key: str) -> Entry | None:
        """Return the entry stored under `key`, or None."""
        with reaching_redis():
            self._seed_once()
            # One round trip, no MULTI: a key expiring in between reads as "no TTL", harmlessly.
            with self.client.pipeline(transaction=False) as pipe:
                value, ttl_ms = pipe.get(USER_KEYS + key).pttl(USER_KEYS + key).execute()
        if value is None:
            return None
        # Whole seconds, rounded up: a key that is still there never reports 0 seconds left.
        return Entry(value, -(-ttl_ms // 1000) if ttl_ms >= 0 else None)

    def put(self, key: str, value: str, ttl: int | None = None) -> bool:
        """Store `value` under `key` (replacing any TTL); return True if the key is new."""
        with reaching_redis():
            self._seed_once()
            # SET ... GET answers with the previous value: created or replaced, in one atomic call.
            previous = self.client.set(USER_KEYS + key, value, ex=ttl, get=True)
        return previous is None

    def delete(self, key: str) -> bool:
        """Delete `key`; return True if it existed."""
        with reaching_redis():
            self._seed_once()
            return bool(self.client.delete(USER_KEYS + key))

    def list_keys(
        self, prefix: str, cursor: str | None, limit: int
    ) -> tuple[list[str], str | None]:
        """Return up to `limit` keys starting with `prefix`, and the cursor of the next page.

        SCAN hands out whole batches, so the cursor is "<scan cursor>-<keys of that batch
        already returned>": a page can end inside a batch without losing keys. As with SCAN,
        a key may show up twice, or be missed if it is added during the walk; None ends it.
        """
        scan_cursor, skip = _parse_cursor(cursor)
        pattern = USER_KEYS + _escape_glob(prefix) + "*"
        keys: list[str] = []
        with reaching_redis():
            self._seed_once()
            for _ in range(MAX_SCAN_CALLS):
                following, batch = self.client.scan(scan_cursor, match=pattern, count=SCAN_BATCH)
                batch = batch[skip:]
                room = limit - len(keys)
                if len(batch) > room:
                    keys += batch[:room]
                    return _strip(keys), f"{scan_cursor}-{skip + room}"
                keys += batch
                if following == 0:
                    return _strip(keys), None
                scan_cursor, skip = following, 0
                if len(keys) == limit:
                    break
        return _strip(keys), f"{scan_cursor}-0"

    def _seed_once(self) -> None:
        # Lazily, on first use, so that no Redis call happens at import or startup; the
        # marker keeps a deleted "1" from coming back when another process starts.
        if not self._seeded:
            if self.client.set(SEEDED, "1", nx=True):
                self.client.set(USER_KEYS + SEED[0], SEED[1], nx=True)
            self._seeded = True


@contextmanager
def reaching_redis() -> Iterator[None]:
    """Turn Redis being away into StorageUnavailable (a 503), and count every Redis error."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as error:
        REDIS_ERRORS.labels(error=type(error).__name__).inc()
        raise StorageUnavailable(str(error)) from error
    except redis.RedisError as error:
        REDIS_ERRORS.labels(error=type(error).__name__).inc()
        raise


def _parse_cursor(cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    match = CURSOR_PATTERN.fullmatch(cursor)
    if not match:
        raise InvalidCursor("cursor must be a next_cursor value from an earlier listing")
    return int(match[1]), int(match[2])


def _escape_glob(text: str) -> str:
    # SCAN's MATCH is a glob: a prefix such as "a*" must match literally.
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)


def _strip(keys: list[str]) -> list[str]:
    return [key.removeprefix(USER_KEYS) for key in keys]
