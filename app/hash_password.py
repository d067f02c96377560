"""`make user` runs this: prints `NAME:<argon2id hash>` for the password on standard input.

    printf '%s\\n' "$password" | python -m app.hash_password alice    # alice:$argon2id$...

The password comes from standard input, never the command line, so it shows in no `ps`.
"""

import sys

from app.credentials import USER_NAME
from app.passwords import HASHER

USAGE = "usage: python -m app.hash_password NAME < password (NAME: 1-64 of A-Z a-z 0-9 . _ @ -)"


def main(arguments: list[str]) -> int:
    """Print the users file's line for NAME and the first line of standard input."""
    if len(arguments) != 1 or not USER_NAME.fullmatch(arguments[0]):
        print(USAGE, file=sys.stderr)
        return 2
    password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        print("hash_password: the password (standard input's first line) is empty", file=sys.stderr)
        return 2
    print(f"{arguments[0]}:{HASHER.hash(password)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
