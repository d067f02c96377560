"""The credentials files: API tokens (API_TOKENS_FILE) and users (USERS_FILE), and token checks.

Both files hold one entry per line; blank lines and lines starting with # are skipped. A bad
line is reported by its number only, so neither a token nor a hash reaches a log.
"""

import hmac
import re
from collections.abc import Iterator

# What `make user` accepts as a name: no ":" (the separator), no spaces, nothing to escape.
USER_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
ARGON2ID_PREFIX = "$argon2id$"


class CredentialsFileError(ValueError):
    """A line of a credentials file is malformed; the message names the line, not its text."""


def _entries(path: str) -> Iterator[tuple[int, str]]:
    with open(path, encoding="utf-8") as credentials_file:
        for number, line in enumerate(credentials_file, start=1):
            line = line.strip()
            if line and not line.startswith("#"):
                yield number, line


def read_api_tokens(path: str) -> tuple[str, ...]:
    """The tokens of the file at `path`, one per line."""
    tokens = []
    for number, token in _entries(path):
        if any(character.isspace() for character in token):
            raise CredentialsFileError(f"line {number} holds a space; write one token per line")
        tokens.append(token)
    return tuple(tokens)


def read_users(path: str) -> dict[str, str]:
    """The users of the file at `path`: name -> argon2id hash, from `name:<PHC hash>` lines."""
    users: dict[str, str] = {}
    for number, line in _entries(path):
        name, _, password_hash = line.partition(":")
        if not USER_NAME.fullmatch(name) or not password_hash.startswith(ARGON2ID_PREFIX):
            raise CredentialsFileError(
                f"line {number} is not name:<argon2id hash> (make user USER=<name> writes one)"
            )
        if name in users:
            raise CredentialsFileError(f"line {number} repeats user {name!r}")
        users[name] = password_hash
    return users


def token_is_valid(given: str, tokens: tuple[str, ...]) -> bool:
    """Whether `given` is one of `tokens`, in time that does not depend on which one, or where
    they differ: every token is compared in full (hmac.compare_digest), none is skipped."""
    given_bytes = given.encode("utf-8", "surrogateescape")
    matched = False
    for token in tokens:
        matched |= hmac.compare_digest(given_bytes, token.encode("utf-8"))
    return matched
