"""The Redis store: all app keys under one prefix, user keys kept apart from internal ones."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.retry import Retry

from app.config import Settings
from app.metrics import REDIS_ERRORS
from app.redis_connection import DeadlineLookupConnection
from app.sentinel import is_writable_primary, primary_client

NAMESPACE = "dockerapp:"
USER_KEYS = NAMESPACE + "key:"  # what the page and the API read and write
VISITS = NAMESPACE + "meta:visits"
SEEDED = NAMESPACE + "meta:seeded"
SEED = ("1", "one")  # the original dockerapp's first entry

# Sub-second timeouts keep /readyz under a second and make an outage a fast 503, not a hang.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 0.5
# How long a write waits for replicas to confirm it (REDIS_MIN_REPLICAS_ACKED); the writes' read
# timeout is this much longer, so that a slow confirmation is a clear 503, not a socket timeout.
CONFIRM_TIMEOUT_MS = 500
SCAN_BATCH = 250
MAX_SCAN_CALLS = 40  # bounds one listing request; the client continues with next_cursor
# "<SCAN cursor>-<keys to skip>"; 19 digits always fit SCAN's unsigned 64-bit cursor.
CURSOR_PATTERN = re.compile(r"([0-9]{1,19})-([0-9]{1,9})")


class StorageUnavailable(RuntimeError):
    """Redis could not be reached or did not answer in time."""


class WriteNotConfirmed(StorageUnavailable):
    """A write whose outcome is unknown: it may or may not have been applied (and may be lost)."""


class InvalidCursor(ValueError):
    """A listing cursor that this store did not hand out."""


@dataclass(frozen=True)
class Entry:
    """A stored value and its remaining lifetime in seconds (None: no expiry)."""

    value: str
    ttl: int | None


class Store:
    """Key-value operations on Redis; raises StorageUnavailable when Redis is away."""

    def __init__(
        self,
        client: redis.Redis,
        writer: redis.Redis | None = None,
        replicas_to_confirm: int = 0,
        through_sentinel: bool = False,
    ):
        self.client = client
        # Writes go through `writer` when it is given: a client that never retries, since a
        # write whose answer was lost may have been applied (a second INCR would count twice).
        self.writer = writer or client
        self.replicas_to_confirm = replicas_to_confirm
        self.through_sentinel = through_sentinel
        self._seeded = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        """Create the store; redis-py connects lazily, so nothing touches Redis here."""
        # One immediate retry replaces a pooled connection that died with a Redis restart;
        # timeouts are not retried, so an unresponsive Redis costs one timeout, not several.
        retry_once = Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))
        write_timeout = READ_TIMEOUT_SECONDS + CONFIRM_TIMEOUT_MS / 1000
        if settings.redis_sentinels:
            client = primary_client(
                settings, CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, retry_once
            )
            writer = primary_client(
                settings, CONNECT_TIMEOUT_SECONDS, write_timeout, Retry(NoBackoff(), 0)
            )
            return cls(client, writer, settings.redis_min_replicas_acked, through_sentinel=True)
        options: dict[str, Any] = {}
        if settings.redis_url.startswith("redis://"):  # plain TCP; TLS and unix keep their own
            options["connection_class"] = DeadlineLookupConnection
        options.update(
            password=settings.redis_password,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=READ_TIMEOUT_SECONDS, retry=retry_once, **options
        )
        if not settings.redis_min_replicas_acked:
            return cls(client)
        writer = redis.Redis.from_url(
            settings.redis_url, socket_timeout=write_timeout, retry=Retry(NoBackoff(), 0), **options
        )
        return cls(client, writer, settings.redis_min_replicas_acked)

    def ping(self) -> None:
        """Check that Redis answers; through Sentinel, that it is a writable primary."""
        with reaching_redis():
            if not self.through_sentinel:
                self.client.ping()
            elif not is_writable_primary(self.client):
                raise StorageUnavailable("the Redis that Sentinel named is not a primary")

    def count_visit(self) -> int:
        """Count one page view and return the total."""
        with reaching_redis():
            self._seed_once()
            return self.writer.incr(VISITS)

    def count_visit_and_read(self, key: str) -> tuple[int, str | None]:
        """Count one page view and read `key`, in one round trip: the total and the value."""
        # On the writer, which never retries: a resent INCR would count twice.
        with self._pipeline(self.writer) as pipe:
            pipe.incr(VISITS)
            pipe.get(USER_KEYS + key)
            visits, value = pipe.execute()
        return visits, value

    def get(self, key: str) -> Entry | None:
        """Return the entry stored under `key`, or None."""
        # No MULTI: a key expiring between the two reads reads as "no TTL", harmlessly.
        with self._pipeline(self.client) as pipe:
            pipe.get(USER_KEYS + key)
            pipe.pttl(USER_KEYS + key)
            value, ttl_ms = pipe.execute()
        if value is None:
            return None
        # Whole seconds, rounded up: a key that is still there never reports 0 seconds left.
        return Entry(value, -(-ttl_ms // 1000) if ttl_ms >= 0 else None)

    def put(self, key: str, value: str, ttl: int | None = None) -> bool:
        """Store `value` under `key` (replacing any TTL); return True if the key is new."""
        with reaching_redis(outcome_unknown_on_error=bool(self.replicas_to_confirm)):
            self._seed_once()
            # SET ... GET answers with the previous value: created or replaced, in one atomic call.
            previous = self._confirmed(
                lambda pipe: pipe.set(USER_KEYS + key, value, ex=ttl, get=True)
            )
        return previous is None

    def delete(self, key: str) -> bool:
        """Delete `key`; return True if it existed."""
        with reaching_redis(outcome_unknown_on_error=bool(self.replicas_to_confirm)):
            self._seed_once()
            return bool(self._confirmed(lambda pipe: pipe.delete(USER_KEYS + key)))

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
                # str keys (the client decodes replies), which redis-py's types cannot tell.
                following, batch = cast(
                    tuple[int, list[str]],
                    self.client.scan(scan_cursor, match=pattern, count=SCAN_BATCH),
                )
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

    @contextmanager
    def _pipeline(self, client: redis.Redis) -> Iterator[Pipeline]:
        """A pipeline on `client`: one round trip, no MULTI; the seed first; in reaching_redis()."""
        with reaching_redis():
            self._seed_once()
            with client.pipeline(transaction=False) as pipe:
                yield pipe

    def _seed_once(self) -> None:
        # Lazily, on first use, so that no Redis call happens at import or startup; the
        # marker keeps a deleted "1" from coming back when another process starts.
        if not self._seeded:
            if self.writer.set(SEEDED, "1", nx=True):
                self.writer.set(USER_KEYS + SEED[0], SEED[1], nx=True)
            self._seeded = True

    def _confirmed(self, write):
        """The answer to `write(pipeline)`; with replicas to confirm, only once they have it.

        WAIT must follow the write on the same connection: one pipeline sends both.
        """
        if not self.replicas_to_confirm:
            return write(self.writer)
        with self.writer.pipeline(transaction=False) as pipe:
            write(pipe)
            pipe.execute_command("WAIT", self.replicas_to_confirm, CONFIRM_TIMEOUT_MS)
            answer, confirmations = pipe.execute()
        if confirmations < self.replicas_to_confirm:
            raise WriteNotConfirmed(
                f"{confirmations} of {self.replicas_to_confirm} replicas confirmed the write"
            )
        return answer


def current_store() -> Store:
    """The store of the app serving the current request (create_app() keeps it there)."""
    return current_app.extensions["store"]


@contextmanager
def reaching_redis(outcome_unknown_on_error: bool = False) -> Iterator[None]:
    """Turn Redis being away into StorageUnavailable (a 503), and count every Redis error.

    `outcome_unknown_on_error`: for a write whose replicas must confirm it, a lost connection
    means the write may or may not have been applied, which WriteNotConfirmed says.
    """
    try:
        yield
    except WriteNotConfirmed:
        REDIS_ERRORS.labels(error="WriteNotConfirmed").inc()
        raise
    except (redis.ConnectionError, redis.TimeoutError) as error:
        REDIS_ERRORS.labels(error=type(error).__name__).inc()
        if outcome_unknown_on_error:  # the command may have reached Redis
            raise WriteNotConfirmed(str(error)) from error
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
