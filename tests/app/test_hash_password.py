"""`python -m app.hash_password NAME` (what `make user` runs): a users-file line from stdin."""

import io

import pytest

from app import passwords
from app.credentials import read_users
from app.hash_password import main


def run(monkeypatch, capsys, arguments: list[str], stdin: str) -> tuple[int, str, str]:
    """main() with `stdin`; returns (exit status, stdout, stderr)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(arguments)
    output = capsys.readouterr()
    return status, output.out, output.err


def test_the_line_holds_an_argon2id_hash_of_the_first_line_of_stdin(monkeypatch, capsys, tmp_path):
    status, out, _ = run(monkeypatch, capsys, ["alice"], "s3cret pass\nignored\n")
    assert status == 0
    (tmp_path / "users").write_text(out)
    users = read_users(str(tmp_path / "users"))  # the app accepts the line
    assert passwords.check(users["alice"], "s3cret pass")
    assert not passwords.check(users["alice"], "s3cret pass\n")
    assert "s3cret" not in out


@pytest.mark.parametrize("arguments", [[], ["a:b"], ["two words"], ["x" * 65], ["a", "b"]])
def test_a_bad_name_is_refused_with_the_usage(monkeypatch, capsys, arguments):
    status, out, err = run(monkeypatch, capsys, arguments, "pw\n")
    assert (status, out) == (2, "")
    assert err.startswith("usage: python -m app.hash_password NAME < password")


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_an_empty_password_is_refused(monkeypatch, capsys, stdin):
    status, out, err = run(monkeypatch, capsys, ["alice"], stdin)
    assert (status, out) == (2, "")
    assert "is empty" in err
