"""The page's login: GET/POST /login, POST /logout, and the check that sends visitors to /login.

Only with a users file (USERS_FILE); without one, in development, the page is open.
"""

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

# redirect() gives werkzeug's Response, the base class of Flask's.
from werkzeug.wrappers import Response as BaseResponse

from app import passwords
from app.login_sessions import LoginSessions

blueprint = Blueprint("login", __name__)
# One answer for an unknown name and a wrong password, so it does not tell which names exist.
REFUSED = "Wrong user name or password."
SEE_OTHER = 303  # after a POST, the browser GETs the new location


def users() -> dict[str, str] | None:
    """The users of USERS_FILE, or None when the page is open."""
    return current_app.extensions["settings"].users


def logins() -> LoginSessions:
    """The app's login records."""
    return current_app.extensions["logins"]


def require_login() -> BaseResponse | None:
    """Before every request for the page: a visitor who is not logged in goes to /login.

    The factory runs this before the CSRF check, so a visitor's POST is redirected too.
    """
    if request.blueprint != "pages" or users() is None:
        return None
    login_id = session.get("login")
    user = logins().user(login_id) if isinstance(login_id, str) else None
    if user is None:
        return redirect(url_for("login.form"), SEE_OTHER)
    g.user = user
    return None


def page(status: int = 200, username: str = "", error: str | None = None, headers=None):
    """The login form, with `username` filled in and `error` shown."""
    html = render_template("login.html", username=username, error=error)
    return Response(html, status, headers)


@blueprint.get("/login")
def form() -> BaseResponse:
    """The login form (the page itself when it is open)."""
    if users() is None:
        return redirect(url_for("pages.index"), SEE_OTHER)
    return page()


@blueprint.post("/login")
def log_in() -> BaseResponse:
    """Check the name and password (CSRF was checked by Flask-WTF); 401 and the form if wrong."""
    accounts = users()
    if accounts is None:
        return redirect(url_for("pages.index"), SEE_OTHER)
    name = request.form.get("username", "")
    if not passwords.check(accounts.get(name), request.form.get("password", "")):
        return page(401, username=name, error=REFUSED)
    # A new session at login: the CSRF token and login id of before are dropped, so a session
    # planted before the login (session fixation) is worth nothing after it.
    previous = session.get("login")
    session.clear()
    if isinstance(previous, str):
        logins().end(previous)
    lifetime = current_app.extensions["settings"].session_lifetime_seconds
    session["login"] = logins().start(name, lifetime)
    session.permanent = True  # the cookie expires with the login record
    return redirect(url_for("pages.index"), SEE_OTHER)


@blueprint.post("/logout")
def log_out() -> BaseResponse:
    """End the login: its record goes, so even a copy of the cookie is refused afterwards."""
    login_id = session.get("login")
    if isinstance(login_id, str):
        logins().end(login_id)
    session.clear()
    return redirect(url_for("login.form"), SEE_OTHER)
