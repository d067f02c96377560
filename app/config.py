"""Settings, read from the environment only, and checked before the app serves anything."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.credentials import CredentialsFileError, read_api_tokens, read_users

# Good enough for `docker compose up`; refused when APP_ENV=production.
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"
ENVIRONMENTS = ("development", "production")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MAX_VALUE_BYTES_CEILING = 16 * 1024 * 1024
MAX_PROXY_HOPS = 5
SESSION_LIFETIME_RANGE = (60, 30 * 24 * 3600)  # a minute to 30 days
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
    # None: no file was named, so that door is open (development only; production refuses).
    api_tokens: tuple[str, ...] | None = field(default=None, repr=False)
    users: Mapping[str, str] | None = field(default=None, repr=False)  # name -> argon2id hash
    proxy_hops: int = 0
    session_lifetime_seconds: int = 8 * 3600

    @property
    def secure_cookies(self) -> bool:
        """Send the session cookie over HTTPS only: behind the TLS proxy, or in production.

        The development stack serves plain http on localhost, where a Secure cookie would
        never come back.
        """
        return self.app_env == "production" or self.proxy_hops > 0

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
        missing = [name for name in CREDENTIAL_FILES if not env.get(name)]
        if app_env == "production" and missing:
            are = "is" if len(missing) == 1 else "are"
            raise ConfigError(
                f"{' and '.join(missing)} {are} missing; APP_ENV=production needs the API"
                " tokens and the users files (make secrets, make user USER=<name>)"
            )
        return cls(
            app_env=app_env,
            secret_key=secret_key or DEVELOPMENT_SECRET_KEY,
            redis_url=_redis_url(env),
            redis_password=_secret(env, "REDIS_PASSWORD"),
            redis_sentinels=_sentinels(env),
            redis_primary_name=env.get("REDIS_PRIMARY_NAME") or defaults.redis_primary_name,
            redis_min_replicas_acked=_whole_number(
                env, "REDIS_MIN_REPLICAS_ACKED", 0, 0, MAX_REPLICAS_ACKED
            ),
            max_value_bytes=_whole_number(
                env, "MAX_VALUE_BYTES", defaults.max_value_bytes, 1, MAX_VALUE_BYTES_CEILING
            ),
            log_level=_choice(env, "LOG_LEVEL", defaults.log_level, LOG_LEVELS, str.upper),
            version=env.get("APP_VERSION") or defaults.version,
            revision=env.get("GIT_REVISION") or defaults.revision,
            api_tokens=_credentials(env, "API_TOKENS_FILE", read_api_tokens),
            users=_credentials(env, "USERS_FILE", read_users),
            proxy_hops=_whole_number(env, "PROXY_HOPS", defaults.proxy_hops, 0, MAX_PROXY_HOPS),
            session_lifetime_seconds=_whole_number(
                env,
                "SESSION_LIFETIME_SECONDS",
                defaults.session_lifetime_seconds,
                *SESSION_LIFETIME_RANGE,
            ),
        )


# The files of credentials; each worker reads them when it starts (gunicorn's HUP reloads them).
CREDENTIAL_FILES = ("API_TOKENS_FILE", "USERS_FILE")


def _credentials(env: Mapping[str, str], name: str, read):
    """What `read` makes of the file named by NAME, or None (open) when NAME is not set."""
    path = env.get(name)
    if not path:
        return None
    try:
        return read(path)
    except OSError as error:
        raise ConfigError(f"{name}: cannot read {path}: {error.strerror}") from None
    except CredentialsFileError as error:
        raise ConfigError(f"{name}: {path}: {error}") from None


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


def _whole_number(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name) or str(default)
    value = int(raw) if raw.isascii() and raw.isdecimal() else low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} must be a whole number from {low} to {high}")
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


if __name__ == "__main__":
    # `python -m app.config` (gunicorn.conf.py): check the settings; what is wrong, in one line.
    try:
        Settings.from_environ()
    except ConfigError as error:
        raise SystemExit(str(error)) from None
