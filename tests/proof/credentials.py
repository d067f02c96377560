"""The production app's credentials for the proof: an API token, a user, and clients using them.

prod.yml's app answers the API only with a bearer token and the page only after a login (issue 19).
The checks here are about faults, load and bad input, so every request they send carries what a
real client's would: `authenticate_every_request` makes each `requests` session send the token to
the API, and start with the cookie of one login (made once, while Redis is up, so a check of the
page during a Redis outage sees the page's answer, not the login's). The CSRF secret lives in
each session's own cookie, so two sessions still hold two different CSRF tokens. wrk and
schemathesis get the same through their options.
"""

import re
import secrets
from http.cookiejar import DefaultCookiePolicy
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
        self.login_cookies: dict[str, str] | None = None

    def bearer(self) -> str:
        return f"Bearer {self.token}"

    def page_cookies(self, base_url: str, send) -> dict[str, str]:
        """The cookies of a session logged in through the form (made at the first call)."""
        if self.login_cookies is None:
            with requests.Session() as session:
                form = send(session, "GET", base_url + "/login", timeout=10).text
                token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
                fields = {"username": USER, "password": self.password, "csrf_token": token}
                # Not following the redirect: the page would put a CSRF secret into the session,
                # which every session given this cookie would then share.
                answer = send(session, "POST", base_url + "/login", data=fields, timeout=10,
                              allow_redirects=False)  # fmt: skip
                assert answer.status_code == 303, answer.status_code
                assert urlsplit(answer.headers["Location"]).path == "/"
                self.login_cookies = session.cookies.get_dict()
        return self.login_cookies


def authenticate_every_request(credentials: Credentials, monkeypatch) -> None:
    """Patch requests.Session.request: the token on API requests, a login before the page."""
    send = requests.Session.request

    def request(session, method, url, *args, **kwargs):
        parts = urlsplit(url)
        headers = dict(kwargs.get("headers") or {})
        if parts.path.startswith("/api/") and "Authorization" not in headers:
            kwargs["headers"] = {**headers, "Authorization": credentials.bearer()}
        elif not parts.path.startswith(OPEN_PATHS) and "session" not in session.cookies:
            base_url = f"{parts.scheme}://{parts.netloc}"
            for name, value in credentials.page_cookies(base_url, send).items():
                # As the server set it (host-only, path /), so its next Set-Cookie replaces it.
                session.cookies.set(name, value, domain=parts.hostname, path="/")
        return send(session, method, url, *args, **kwargs)

    monkeypatch.setattr(requests.Session, "request", request)
    # The production cookies are Secure: at the edge they only cross HTTPS. The proof talks plain
    # HTTP to the app itself, on the hop behind where Caddy ends TLS, so its client sends them
    # there too, as the proxy does. (requests builds a fresh cookie jar per request, hence the
    # policy's class, not one jar.)
    monkeypatch.setattr(DefaultCookiePolicy, "return_ok_secure", lambda *_: True)
