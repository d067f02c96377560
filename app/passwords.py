"""Password hashes of the users file: argon2id, made and checked with argon2-cffi."""

import functools
import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's argon2id setting (19 MiB, 2 passes, 1 lane): memory-hard, and small enough that a
# container's memory limit holds the checks below. A hash keeps its own parameters, so these
# apply to new hashes; older ones still verify.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Each check holds its memory until it ends: two at a time per worker process bounds that,
# whatever the number of threads or of people logging in at once.
_checks = threading.BoundedSemaphore(2)


@functools.cache
def _unknown_user_hash() -> str:
    # Checked instead of a hash when the name is unknown: the answer takes as long as for a
    # known name, so timing does not tell which names exist.
    return HASHER.hash(secrets.token_urlsafe(16))


def check(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches `password_hash` (None: an unknown user, always False)."""
    with _checks:
        try:
            matched = HASHER.verify(password_hash or _unknown_user_hash(), password)
        except (VerificationError, InvalidHashError):
            return False
    return matched and password_hash is not None
