"""The checks every URL passes before a view runs: its length, and its encoding.

The app refuses a URL longer than MAX_URL_LENGTH with a 414, and one whose %-escapes are not
UTF-8 with a 400, as problem+json on the API and an HTML page for people (app/problems.py).
gunicorn refuses what is over its own, higher limits before the app runs (app/gunicorn_limits.py);
docs/api.md ("Request limits") says why the line is drawn there.
"""

from urllib.parse import unquote_to_bytes

from flask import request

from app.validation import InvalidInput

# The longest valid URL is ~3.1 KB: /api/v1/keys?prefix= with 256 four-byte characters
# percent-encoded (12 characters each), plus cursor and limit. 4096 leaves room for that.
MAX_URL_LENGTH = 4096


class UrlTooLong(InvalidInput):
    """The URL (path and query) is longer than MAX_URL_LENGTH."""

    status = 414


def refuse_bad_urls() -> None:
    """Flask's before_request hook: run both checks on the request being served."""
    check_url_length(request.environ)
    check_url_is_utf8(request.environ.get("PATH_INFO", ""), request.query_string)


def check_url_length(environ: dict) -> None:
    """Refuse a request whose URL, as the client sent it, is longer than MAX_URL_LENGTH."""
    # RAW_URI (gunicorn, Werkzeug) and REQUEST_URI (uWSGI, mod_wsgi) hold the URL as sent;
    # under a server that gives neither, the decoded path and the query are a close lower bound.
    url = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if url is None:
        url = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    if len(url) > MAX_URL_LENGTH:
        raise UrlTooLong(f"the URL is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")


def check_url_is_utf8(path_info: str, query_string: bytes) -> None:
    """Refuse a URL whose percent-escapes are not UTF-8.

    Werkzeug would decode them with U+FFFD in place of the bad bytes, so `%FF` would silently
    name another key. WSGI hands over the decoded path as a latin-1 string of its raw bytes.
    """
    if path_info.isascii() and query_string.isascii() and b"%" not in query_string:
        return  # most URLs: nothing that could decode badly
    try:
        path_info.encode("latin-1").decode("utf-8")
        unquote_to_bytes(query_string).decode("utf-8")
    except UnicodeError:
        raise InvalidInput("the URL must be UTF-8 once its %-escapes are decoded") from None
