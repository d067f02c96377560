"""The limits gunicorn enforces while it reads a request, before the app runs.

gunicorn answers a request over them with its own text/html page. gunicorn.conf.py sets them
from this file, and /openapi.json documents them (app/openapi/components.py), so the two cannot
disagree. This module imports nothing: gunicorn.conf.py runs it as a file, so that gunicorn's
master process holds no module of the app (why: gunicorn.conf.py's docstring).
"""

# gunicorn's request line is "METHOD URL HTTP/1.1"; 8190 bytes is the most it allows, so every
# URL up to the app's own limit (app/url_checks.py: MAX_URL_LENGTH) reaches the app, which
# then answers in the API's own format.
LIMIT_REQUEST_LINE = 8190
LIMIT_REQUEST_FIELDS = 100  # header fields per request (gunicorn's default)
LIMIT_REQUEST_FIELD_SIZE = 8190  # bytes per header line (gunicorn's default)
