"""The fields of every JSON log line, the app's and gunicorn's alike, named as people read them.

app/logs.py formats the app's lines with them and gunicorn.conf.py gunicorn's own. This module
imports nothing: gunicorn.conf.py runs it as a file, so that gunicorn's master process holds no
module of the app (why: gunicorn.conf.py's docstring).
"""

# Every line starts with these; any `extra` passed to a log call follows, and TIME_FIELD (UTC,
# ISO 8601) ends the line.
LINE_FIELDS = "%(levelname)s %(name)s %(message)s"
FIELD_NAMES = {"levelname": "level", "name": "logger", "exc_info": "exception"}
TIME_FIELD = "time"
