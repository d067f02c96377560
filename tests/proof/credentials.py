"""The production app's credentials for the proof: an API token, a user, and clients using them.

prod.yml's app answers the API only with a bearer token and the page only after a login (issue 19).
The checks here are about faults, load and bad input, so every request they send carries what a
real client's would: `authenticate_every_request` makes each `requests` session send the token to
the API and log in once (its own login, so two sessions stay two users' sessions) before it first
asks for the page. wrk and schemathesis get the same through their options.
"""

import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import requests
from argon2 import PasswordHasher

USER = "proof"
# Paths that take no login: the login itself, and what stays open in production.
OPEN_PATHS = ("/api/", "/login", "/logout", "/healthz", "/readyz", "/metrics", "/openapi.json")


class Credentials:
    """A random API token and user, written as prod.yml's api_tokens and users secrets."""

    def __init__(self, secrets_dir: Path):
        self.token, self.password = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
        files = {
            "api_tokens": self.token + "\n",
            "users": f"{USER}:{PasswordHasher().hash(self.password)}\n",
        }
        for name, text in files.items():
            (secrets_dir / name).write_text(text)
            (secrets_dir / name).chmod(0o644)  # bind-mounted as is: the app's user must read it

    def bearer(self) -> str:
        return f"Bearer {self.token}"

    def log_in(self, session: requests.Session, base_url: str, send) -> None:
        """Log `session` in through the form (GET for the CSRF token, then POST)."""
        form = send(session, "GET", base_url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        fields = {"username": USER, "password": self.password, "csrf_token": token}
        answer = send(session, "POST", base_url + "/login", data=fields, timeout=10)
        assert answer.ok and urlsplit(answer.url).path == "/", (answer.status_code, answer.url)


def authenticate_every_request(credentials: Credentials, monkeypatch) -> None:
    """Patch requests.Session.request: the token on API requests, a login before the page."""
    send = requests.Session.request

    def request(session, method, url, *args, **kwargs):
        parts = urlsplit(url)
        headers = dict(kwargs.get("headers") or {})
        if parts.path.startswith("/api/") and "Authorization" not in headers:
            kwargs["headers"] = {**headers, "Authorization": credentials.bearer()}
        elif not parts.path.startswith(OPEN_PATHS) and not getattr(session, "proof_login", False):
            session.proof_login = True
            credentials.log_in(session, f"{parts.scheme}://{parts.netloc}", send)
        return send(session, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
