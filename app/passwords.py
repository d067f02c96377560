"""Password hashes for the users file: argon2id with argon2-cffi; `make user` runs this module.

    printf '%s\\n' "$password" | python -m app.passwords alice    # prints alice:$argon2id$...

The password comes from standard input, never the command line, so it shows in no `ps`.
"""

import functools
import secrets
import sys
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from app.credentials import USER_NAME

# OWASP's argon2id setting (19 MiB, 2 passes, 1 lane): memory-hard, and small enough that a
# container's memory limit holds the checks below. A hash keeps its own parameters, so these
# apply to new hashes; older ones still verify.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Each check holds its memory until it ends: two at a time per worker process bounds that,
# whatever the number of threads or of people logging in at once.
_checks = threading.BoundedSemaphore(2)
USAGE = "usage: python -m app.passwords NAME < password (NAME: 1-64 of A-Z a-z 0-9 . _ @ -)"


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


def main(arguments: list[str]) -> int:
    """Print `NAME:<argon2id hash>` for the password on the first line of standard input."""
    if len(arguments) != 1 or not USER_NAME.fullmatch(arguments[0]):
        print(USAGE, file=sys.stderr)
        return 2
    password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        print("app.passwords: the password (standard input's first line) is empty", file=sys.stderr)
        return 2
    print(f"{arguments[0]}:{HASHER.hash(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
