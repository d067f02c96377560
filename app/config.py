"""Settings, read from the environment only, and checked before the app serves anything."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# Good enough for `docker compose up`; refused when APP_ENV=production.
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"
ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MAX_VALUE_BYTES_CEILING = 16 * 1024 * 1024
MAX_REPLICAS_ACKED = 16  # far above any sane replica count; catches a typo like 10000


class ConfigError(ValueError):
    """A setting is missing or wrong; the message is one line that names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every knob of the service; see .env.example for what each one means."""

    app_env: str = "development"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    redis_url: str = "redis://redis:6379/0"
    redis_password: str | None = None
    # Set: the primary is found through these Sentinels and REDIS_URL's host is not used.
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_primary_name: str = "dockerapp"
    redis_min_replicas_acked: int = 0
    max_value_bytes: int = 65536
    log_level: str = "INFO"
    version: str = "dev"
    revision: str = "unknown"

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Build the settings from environment variables, raising ConfigError on a bad one."""
        env = os.environ if environ is None else environ
        defaults = cls()
        app_env = _choice(env, "APP_ENV", defaults.app_env, ENVIRONMENTS, str.lower)
        secret_key = _secret(env, "SECRET_KEY")
        if app_env == "production" and secret_key in (None, DEVELOPMENT_SECRET_KEY):
            what = "is missing" if secret_key is None else "is the development default"
            raise ConfigError(f"SECRET_KEY {what}; APP_ENV=production needs a random secret")
        return cls(
            app_env=app_env,
            secret_key=secret_key or DEVELOPMENT_SECRET_KEY,
            redis_url=_redis_url(env),
            redis_password=_secret(env, "REDIS_PASSWORD"),
            redis_sentinels=_sentinels(env),
            redis_primary_name=env.get("REDIS_PRIMARY_NAME") or defaults.redis_primary_name,
            redis_min_replicas_acked=_replicas_acked(env),
            max_value_bytes=_max_value_bytes(env, defaults.max_value_bytes),
            log_level=_choice(env, "LOG_LEVEL", defaults.log_level, LOG_LEVELS, str.upper),
            version=env.get("APP_VERSION") or defaults.version,
            revision=env.get("GIT_REVISION") or defaults.revision,
        )


def _secret(env: Mapping[str, str], name: str) -> str | None:
    """Read NAME, or the file named by NAME_FILE (how Docker and Kubernetes mount secrets)."""
    value, path = env.get(name), env.get(f"{name}_FILE")
    if value and path:
        raise ConfigError(f"{name} and {name}_FILE are both set; set only one")
    if not path:
        return value or None
    try:
        with open(path, encoding="utf-8") as secret_file:
            value = secret_file.read().strip()
    except OSError as error:
        raise ConfigError(f"{name}_FILE: cannot read {path}: {error.strerror}") from None
    if not value:
        raise ConfigError(f"{name}_FILE: {path} is empty")
    return value


def _choice(
    env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...], normalize
) -> str:
    value = normalize(env.get(name) or default)
    if value not in allowed:
        raise ConfigError(f"{name}={env[name]!r} is not one of: {', '.join(allowed)}")
    return value


def _redis_url(env: Mapping[str, str]) -> str:
    url = env.get("REDIS_URL") or Settings.redis_url
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        parts = parts._replace(scheme="")
    if parts.scheme not in REDIS_SCHEMES or not (parts.hostname or parts.path):
        # The URL may hold a password, so the message does not repeat it.
        raise ConfigError("REDIS_URL is not a valid redis://, rediss:// or unix:// URL")
    return url


def _max_value_bytes(env: Mapping[str, str], default: int) -> int:
    raw = env.get("MAX_VALUE_BYTES") or str(default)
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_VALUE_BYTES_CEILING:
        raise ConfigError(
            f"MAX_VALUE_BYTES={raw!r} must be a whole number from 1 to {MAX_VALUE_BYTES_CEILING}"
        )
    return value


def _sentinels(env: Mapping[str, str]) -> tuple[tuple[str, int], ...]:
    """REDIS_SENTINELS=host:port,host:port as (host, port) pairs; empty when unset."""
    raw = env.get("REDIS_SENTINELS") or ""
    sentinels = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        host, _, port = item.rpartition(":")
        if not (host and port.isascii() and port.isdecimal() and 1 <= int(port) <= 65535):
            raise ConfigError(f"REDIS_SENTINELS={raw!r} must be host:port[,host:port...]")
        sentinels.append((host.strip("[]"), int(port)))
    return tuple(sentinels)


def _replicas_acked(env: Mapping[str, str]) -> int:
    raw = env.get("REDIS_MIN_REPLICAS_ACKED") or "0"
    if not (raw.isascii() and raw.isdecimal() and int(raw) <= MAX_REPLICAS_ACKED):
        limit = MAX_REPLICAS_ACKED
        raise ConfigError(
            f"REDIS_MIN_REPLICAS_ACKED={raw!r} must be a whole number from 0 to {limit}"
        )
    return int(raw)
