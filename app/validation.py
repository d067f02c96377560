"""The rules for keys and values, shared by the HTML page and the JSON API."""

import unicodedata

MAX_KEY_LENGTH = 256
# Redis keeps expiry times in milliseconds; this bound (about 68 years) stays far from overflow.
MAX_TTL_SECONDS = 2**31 - 1
# Cc: control characters (NUL, newline, DEL, C1 controls); Cs: lone surrogates, which
# cannot be stored as UTF-8. Everything else printable, spaces and "/" included, is a key.
FORBIDDEN_KEY_CATEGORIES = frozenset({"Cc", "Cs"})


class InvalidInput(ValueError):
    """A key, value or request field breaks the rules; str(error) says which rule."""

    status = 400


class ValueTooLarge(InvalidInput):
    """A value is longer than MAX_VALUE_BYTES once encoded as UTF-8."""

    status = 413


def check_key(key: object) -> str:
    """Return `key` when it is a valid key, else raise InvalidInput."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"key must be at most {MAX_KEY_LENGTH} characters")
    if any(unicodedata.category(char) in FORBIDDEN_KEY_CATEGORIES for char in key):
        raise InvalidInput("key must not contain control characters")
    return key


def check_value(value: object, max_bytes: int) -> str:
    """Return `value` when it is a string of at most `max_bytes` UTF-8 bytes."""
    if not isinstance(value, str):
        raise InvalidInput("value must be a string")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidInput("value must be valid Unicode (no lone surrogates)") from None
    if size > max_bytes:
        raise ValueTooLarge(f"value is {size} bytes of UTF-8; the limit is {max_bytes}")
    return value


def check_ttl(ttl: object) -> int | None:
    """Return `ttl` (seconds) when it is absent or a positive whole number."""
    if ttl is None:
        return None
    if isinstance(ttl, float) and ttl.is_integer():
        ttl = int(ttl)  # JSON has one number type: 30.0 is the integer 30
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= MAX_TTL_SECONDS:
        raise InvalidInput(f"ttl must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}")
    return ttl
