"""CPU time per request in Python, the app called as a WSGI function: no server in between.

Where bench/containers.py measures whole requests, this isolates what the Python code of each
request costs, the app against the floor (bench/floor.py) and the ceiling (bench/hello.py), so
that a change to app/ can be measured below the noise of a loaded machine. "dockerapp, with
credentials" is the app as prod.yml runs it (API tokens and users on): the API request carries
a bearer token, the page the cookie of a login made through /login first. Run inside the
dev image (the runtime image's code and Python), next to the Compose Redis, by

    make bench-python                  # the table
    make bench-python ARGS=--profile   # and the functions the app's requests spend it in

Each figure is the process's CPU time (not the wall time, which includes the wait for Redis)
per request, the best of several loops of the same request: the least disturbed one. Log lines
are written in batches, as in gunicorn's workers, and go to /dev/null.
"""

import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

from werkzeug.test import EnvironBuilder

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

REQUESTS = {  # what wrk sends in bench/containers.py: no cookie, so the page signs a new session
    "GET key": "/api/v1/keys/bench",
    "GET /": "/",
}
LOOPS, CALLS = 7, 2000


def environ_for(path: str, headers: dict | None = None) -> dict:
    """The WSGI environ of GET `path`, as gunicorn would build it (copy it for each call)."""
    builder = EnvironBuilder(path=path, headers={"User-Agent": "wrk", **(headers or {})})
    try:
        return builder.get_environ()
    finally:
        builder.close()


def call(app, environ: dict) -> None:
    """One request through `app`, its body read and closed as a server does."""

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise SystemExit(f"{environ['PATH_INFO']} answered {status}: fix that before timing")
        return lambda data: None

    body = app({**environ, "wsgi.input": io.BytesIO()}, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()


def best_microseconds(app, path: str, headers: dict | None = None) -> float:
    """The least CPU time of LOOPS loops of CALLS requests, per request, in µs."""
    best, environ = float("inf"), environ_for(path, headers)
    for _ in range(LOOPS):
        started = time.process_time()
        for _ in range(CALLS):
            call(app, environ)
        best = min(best, (time.process_time() - started) / CALLS)
    return best * 1e6


def applications() -> dict:
    """The app as gunicorn.conf.py loads it, and the two references, each built once."""
    # Imported here, after sys.path is set; floor.py reads its settings when imported.
    import floor
    import hello

    from app import create_app, logs

    apps = {"dockerapp": create_app(), "floor": floor.app, "ceiling": hello.app}
    logs.write_in_batches(0.1)  # as gunicorn.conf.py's post_worker_init does
    return apps


def with_credentials(folder: Path):
    """The app with prod.yml's credentials on, and the headers its two requests carry then."""
    import secrets

    from app import create_app
    from app.config import Settings
    from app.passwords import HASHER

    token, password = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    (folder / "api_tokens").write_text(token + "\n")
    (folder / "users").write_text(f"bench:{HASHER.hash(password)}\n")
    environ = {**os.environ, "API_TOKENS_FILE": str(folder / "api_tokens")}
    app = create_app(Settings.from_environ({**environ, "USERS_FILE": str(folder / "users")}))
    client = app.test_client()  # a real login through /login, its CSRF token included
    form = client.get("/login").text
    csrf = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/login", data={"username": "bench", "password": password, "csrf_token": csrf}
    )
    if answer.status_code != 303:
        raise SystemExit(f"the benchmark's login answered {answer.status_code}")
    # The cookie after one page view, as a browser holds it: the login's lacks the page's CSRF
    # token, so sending that one would make every page view sign a new session.
    if client.get("/").status_code != 200:
        raise SystemExit("the benchmark's first page view after login failed")
    cookie = client.get_cookie("session")
    headers = {
        "GET key": {"Authorization": f"Bearer {token}"},
        "GET /": {"Cookie": f"session={cookie.value}"},
    }
    return app, headers


def profile(app, path: str, headers: dict | None = None) -> str:
    """The top functions, by own time, of CALLS requests of `path`."""
    profiler, environ = cProfile.Profile(), environ_for(path, headers)
    profiler.enable()
    for _ in range(CALLS):
        call(app, environ)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
    return out.getvalue()


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "INFO")  # access lines on, as the contract has them
    # gunicorn.conf.py creates the metrics directory at start; here nothing else does.
    Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/tmp/metrics")).mkdir(exist_ok=True)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (the access lines; the table goes to stderr)
    folder = tempfile.TemporaryDirectory()
    # First: each create_app sets up logging afresh, and applications() then batches the lines.
    credentialed, headers = with_credentials(Path(folder.name))
    apps = applications()
    store = apps["dockerapp"].extensions["store"]
    store.put("bench", "a value of a few words")
    access_log = logging.getLogger("dockerapp.access")
    rows = []
    for request, path in REQUESTS.items():
        for name, app in apps.items():
            rows.append((request, name, best_microseconds(app, path)))
        with_them = best_microseconds(credentialed, path, headers[request])
        rows.append((request, "dockerapp, with credentials", with_them))
        # What the access line costs in Python: the same app with it switched off.
        access_log.setLevel(logging.WARNING)
        without = best_microseconds(apps["dockerapp"], path)
        rows.append((request, "dockerapp, no access line", without))
        access_log.setLevel(logging.NOTSET)
    out = sys.stderr
    print(f"Python {sys.version.split()[0]}, least CPU of {LOOPS} loops of {CALLS} calls", file=out)
    print("| request | server | CPU µs per request |", file=out)
    print("|---|---|---:|", file=out)
    for request, name, micros in rows:
        print(f"| {request} | {name} | {micros:.0f} |", file=out)
    if "--profile" in sys.argv:
        for request, path in REQUESTS.items():
            print(f"\n## dockerapp, {request}\n{profile(apps['dockerapp'], path)}", file=out)
            with_them = profile(credentialed, path, headers[request])
            print(f"\n## dockerapp with credentials, {request}\n{with_them}", file=out)


if __name__ == "__main__":
    main()
