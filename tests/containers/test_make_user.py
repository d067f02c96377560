"""`make secrets` and `make user USER=<name>`: the credentials files prod.yml mounts.

`make user` hashes in the app's own image; each test writes to its own SECRETS_DIR.
"""

import stat
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

from app import passwords
from app.credentials import read_api_tokens, read_users


def make(*arguments: str, stdin: str = "") -> subprocess.CompletedProcess:
    """`make -s ARGUMENTS` in the repository, with `stdin` (not a terminal)."""
    return subprocess.run(["make", "-s", *arguments], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=900)  # fmt: skip


def add_user(secrets: Path, name: str, password: str) -> subprocess.CompletedProcess:
    """`make user USER=name` with the password on stdin, as a script would."""
    return make("user", f"USER={name}", f"SECRETS_DIR={secrets}", stdin=password + "\n")


def test_make_secrets_writes_an_api_token_and_an_empty_users_file(tmp_path):
    secrets = tmp_path / "secrets"
    result = make("secrets", f"SECRETS_DIR={secrets}")
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    for name in ("redis_password", "secret_key", "api_tokens", "users"):
        assert stat.S_IMODE((secrets / name).stat().st_mode) == 0o644, name
    (token,) = read_api_tokens(str(secrets / "api_tokens"))
    assert len(token) >= 40
    assert read_users(str(secrets / "users")) == {}
    make("secrets", f"SECRETS_DIR={secrets}")  # again: nothing is replaced
    assert read_api_tokens(str(secrets / "api_tokens")) == (token,)


def test_make_user_adds_and_replaces_users_with_argon2id_hashes(tmp_path):
    secrets = tmp_path / "secrets"
    make("secrets", f"SECRETS_DIR={secrets}")
    for name, password in [("alice", "first password"), ("bob", "bob's"), ("alice", "second")]:
        result = add_user(secrets, name, password)
        assert result.returncode == 0, result.stdout + result.stderr
        assert password not in result.stdout + result.stderr
    users = read_users(str(secrets / "users"))  # as the app reads it
    assert sorted(users) == ["alice", "bob"]
    assert passwords.check(users["alice"], "second")
    assert not passwords.check(users["alice"], "first password")
    assert passwords.check(users["bob"], "bob's")
    assert stat.S_IMODE((secrets / "users").stat().st_mode) == 0o644


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        (["user"], "pw\n", "make user: name the user on the command line"),
        (["user", "USER=a:b"], "pw\n", "usage: python -m app.hash_password NAME"),
        (["user", "USER=carol"], "", "is empty"),
    ],
)
def test_make_user_refuses_and_leaves_the_file_as_it_was(tmp_path, arguments, stdin, message):
    secrets = tmp_path / "secrets"
    make("secrets", f"SECRETS_DIR={secrets}")
    assert add_user(secrets, "alice", "pw").returncode == 0
    before = (secrets / "users").read_text()
    result = make(*arguments, f"SECRETS_DIR={secrets}", stdin=stdin)
    assert result.returncode != 0
    assert message in result.stderr
    assert (secrets / "users").read_text() == before
