"""How large a request may be, and who refuses it: the app itself, or gunicorn before it.

The app refuses a URL longer than MAX_URL_LENGTH with a 414 problem+json. gunicorn enforces
the GUNICORN_* limits below while it reads the request, before the app runs, answering with its
own text/html page; gunicorn.conf.py sets them (it imports nothing from the app, so it holds the
numbers itself, and tests/app/test_gunicorn.py checks that the two agree). Both are documented
in /openapi.json; docs/api.md ("Request limits") says why the line is drawn there.
"""

from app.validation import InvalidInput

# The longest valid URL is ~3.1 KB: /api/v1/keys?prefix= with 256 four-byte characters
# percent-encoded (12 characters each), plus cursor and limit. 4096 leaves room for that.
MAX_URL_LENGTH = 4096
# gunicorn's request line is "METHOD URL HTTP/1.1"; 8190 bytes is the most it allows, so every
# URL up to MAX_URL_LENGTH reaches the app, which then answers in the API's own format.
GUNICORN_LIMIT_REQUEST_LINE = 8190
GUNICORN_LIMIT_REQUEST_FIELDS = 100  # header fields per request (gunicorn's default)
GUNICORN_LIMIT_REQUEST_FIELD_SIZE = 8190  # bytes per header line (gunicorn's default)


class UrlTooLong(InvalidInput):
    """The URL (path and query) is longer than MAX_URL_LENGTH."""

    status = 414


def check_url_length(environ: dict) -> None:
    """Refuse a request whose URL, as the client sent it, is longer than MAX_URL_LENGTH."""
    # RAW_URI (gunicorn, Werkzeug) and REQUEST_URI (uWSGI, mod_wsgi) hold the URL as sent;
    # under a server that gives neither, the decoded path and the query are a close lower bound.
    url = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if url is None:
        url = environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", "")
    if len(url) > MAX_URL_LENGTH:
        raise UrlTooLong(f"the URL is {len(url)} characters long; the limit is {MAX_URL_LENGTH}")
