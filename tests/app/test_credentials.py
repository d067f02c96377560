"""The credentials files as the app reads them, and the token comparison."""

import hmac

from app import credentials
from app.credentials import read_api_tokens, token_is_valid


def test_blank_lines_comments_and_surrounding_spaces_are_skipped(tmp_path):
    (tmp_path / "tokens").write_text(
        "# the CI job's token\n\n  token-one  \n#token-old\ntoken-two\n"
    )
    assert read_api_tokens(str(tmp_path / "tokens")) == ("token-one", "token-two")


def test_every_token_is_compared_in_full_with_compare_digest(monkeypatch):
    compared = []
    real_compare_digest = hmac.compare_digest

    def compare_digest(given, token):
        compared.append(token)
        return real_compare_digest(given, token)

    monkeypatch.setattr(credentials.hmac, "compare_digest", compare_digest)
    tokens = ("first", "second", "third")
    assert token_is_valid("first", tokens)  # a match on the first token...
    assert compared == [b"first", b"second", b"third"]  # ...still compares all the others
    assert not token_is_valid("fourth", tokens)
    assert not token_is_valid("", tokens)
    assert not token_is_valid("first", ())
    assert not token_is_valid("caf\udce9", tokens)  # not UTF-8: refused, not an error
