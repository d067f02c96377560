"""The servers bench/containers.py measures, and the docker CLI calls that start them.

The development stack and prod.yml as Compose projects of their own, and the references on a
network of their own: the original course app on its own stack (bench/original/), the ceiling
and the floor as containers of the runtime image. prod.yml runs with throwaway credentials, and
its Server carries them: a bearer token for the API, the cookie of a real login for the page.
Everything started here is removed through the ExitStack it is given.
"""

import json
import os
import re
import secrets
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import cpu_usage

# `python3 bench/<script>.py` puts bench/ first on sys.path, not the repository: add it after
# bench/ (before site-packages, whose stray `tests` packages must not shadow ours).
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
from tests.host_helpers import docker as run_docker
from tests.host_helpers import free_port, wait_until

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "dockerapp-bench"
IMAGE = f"{PROJECT}/dockerapp:latest"  # prod.yml runs ${DOCKER_HUB_USER_ID}/dockerapp:${TAG}
DEV_IMAGE = f"{PROJECT}/dockerapp:dev"
WRK_IMAGE = f"{PROJECT}/wrk:latest"
ORIGINAL_IMAGE = f"{PROJECT}/original:latest"
BENCH_USER = "bench"  # prod.yml's throwaway user, whose login cookie the page's points send


def docker(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    """The docker CLI as the benchmark reads it: its stdout, or exit with its stderr (a script
    stops with a message, where a test fails with DockerFailed)."""
    result = run_docker(*args, check=False, env=env, timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:3])} ... failed:\n{result.stderr[-3000:]}")
    return result.stdout.strip()


def remove(*args: str, env: dict[str, str] | None = None) -> None:
    """A cleanup command: if it fails, say so and go on with the other cleanups."""
    result = run_docker(*args, check=False, env=env, timeout=120)
    if result.returncode != 0:
        print(f"cleanup: docker {' '.join(args[:3])} ... failed: {result.stderr.strip()[-500:]}")


class Server:
    """One server under load: where wrk reaches it, the cgroups that count its CPU, and the
    request headers its points send (prod.yml's credentials; none elsewhere)."""

    def __init__(self, name: str, network: str, host: str, container: str, redis: str):
        self.name, self.network, self.url = name, network, f"http://{host}:5000"
        self.container, self.redis = container, redis
        self.cpu_files = [cgroup_cpu_file(identifier) for identifier in (container, redis)]
        self.headers: dict[str, dict[str, str]] = {"page": {}, "api": {}}

    def call(self, method: str, path: str, body: str = "") -> None:
        """One request from inside the server's container (Python is there; no port needed),
        with the server's headers; a 4xx or 5xx answer fails (urllib follows redirects)."""
        headers = {"Content-Type": "application/json", **self.headers_for(path)}
        script = (
            "import json, sys, urllib.request as u; u.urlopen(u.Request('http://127.0.0.1:5000' + "
            "sys.argv[2], sys.argv[3].encode() or None, json.loads(sys.argv[4]), "
            "method=sys.argv[1]), timeout=2).close()"
        )
        arguments = (method, path, body, json.dumps(headers))
        docker("exec", self.container, "python", "-c", script, *arguments, timeout=30)

    def headers_for(self, path: str) -> dict[str, str]:
        """The headers a request for `path` carries: the API's, or the page's."""
        return self.headers["api" if path.startswith("/api/") else "page"]

    def prepare(self, key_path: str | None, seconds: float = 60) -> None:
        """Wait until GET / answers, then store the key that GET key reads at `key_path`.

        Bounded, and retried: on a loaded machine a stack's first requests have failed (503).
        """

        def ready() -> bool:
            self.call("GET", "/")
            if key_path:
                self.call("PUT", key_path, '{"value": "benchmark value"}')
            return True

        what = f"{self.name} to answer GET /"
        wait_until(ready, seconds, what, interval=0.3, retry_on=(SystemExit,))


def cgroup_cpu_file(container: str) -> Path:
    """The cgroup file that counts the CPU time of a running container."""
    pid = docker("inspect", "--format", "{{.State.Pid}}", container)
    return cpu_usage.cgroup_cpu_file(int(pid))


def build_images() -> None:
    """The runtime image (prod.yml's and the references'), the original's and the wrk image."""
    base = ["--build-arg", "PYTHON_IMAGE"] if os.environ.get("PYTHON_IMAGE") else []
    bundle = os.environ.get("EXTRA_CA_CERTS")  # pip behind a TLS-intercepting proxy
    secret = ["--secret", f"id=extra_ca,src={bundle}"] if bundle else []
    docker("build", "--quiet", *base, *secret, "--target", "runtime", "--tag", IMAGE, ".")
    docker("build", "--quiet", *base, "--file", "bench/wrk.Dockerfile", "--tag", WRK_IMAGE, "bench")
    original = "ORIGINAL_PYTHON_IMAGE"
    old_base = ["--build-arg", original] if os.environ.get(original) else []
    docker("build", "--quiet", *old_base, *secret, "--tag", ORIGINAL_IMAGE, "bench/original")


def compose_stack(
    stack: ExitStack,
    name: str,
    project: str,
    files: list[str],
    env: dict[str, str],
    network: str,
    *up_options: str,
) -> Server:
    """Start a Compose project, wait until healthy, and return its app; `down -v` at the end."""
    command = ["compose", "--project-name", project, *(f"--file={file}" for file in files)]
    stack.callback(
        remove, *command, "down", "--volumes", "--remove-orphans", "--timeout", "10", env=env
    )
    docker(*command, "up", "--detach", "--wait", "--wait-timeout", "180", *up_options, env=env)
    app, redis = (
        docker(*command, "ps", "--quiet", service, env=env) for service in ("dockerapp", "redis")
    )
    return Server(name, f"{project}_{network}", "dockerapp", app, redis)


def start_stacks(stack: ExitStack, workdir: Path) -> list[Server]:
    """docker-compose.yml and prod.yml, each under its own project name and 127.0.0.1 port."""
    dev_port = free_port(range(16600, 16700))
    prod_port = free_port(range(dev_port + 1, 16700))
    dev = compose_stack(
        stack,
        "dev stack",
        f"{PROJECT}-dev",
        ["docker-compose.yml"],
        {"DOCKERAPP_DEV_IMAGE": DEV_IMAGE, "DOCKERAPP_PORT": str(dev_port)},
        "default",
        "--build",
    )
    # Throwaway secrets through an override file, so ./secrets (maybe real ones) stays untouched:
    # a token for the API and a user for the page, so that prod.yml's points measure answers,
    # not refusals (401, or 303 to the login).
    override, password = workdir / "secrets.yml", secrets.token_urlsafe(16)
    lines = ["secrets:"]
    for name in ("redis_password", "secret_key", "api_tokens", "users"):
        content = users_line(password) if name == "users" else secrets.token_urlsafe(32)
        (workdir / name).write_text(content + "\n")
        (workdir / name).chmod(0o644)  # read by the containers' non-root users
        lines.append(f"  {name}: {{file: {workdir / name}}}")
    override.write_text("\n".join(lines) + "\n")
    user, tag = re.fullmatch(r"(.+)/dockerapp:(.+)", IMAGE).groups()
    prod = compose_stack(
        stack,
        "prod.yml",
        f"{PROJECT}-prod",
        ["prod.yml", "tests/prod-app-published.yml", str(override)],  # the app, not its edge
        {
            "DOCKER_HUB_USER_ID": user,
            "TAG": tag,
            "DOMAIN": "dockerapp.test",
            "DOCKERAPP_ADDRESS": "127.0.0.1",
            "DOCKERAPP_PORT": str(prod_port),
        },
        "front",
    )
    token = (workdir / "api_tokens").read_text().strip()
    prod.headers = {
        "api": {"Authorization": f"Bearer {token}"},
        "page": {"Cookie": log_in(prod, BENCH_USER, password)},
    }
    return [dev, prod]


def users_line(password: str) -> str:
    """The users file's line for BENCH_USER, hashed by the app's `python -m app.hash_password`."""
    result = subprocess.run(
        ["docker", "run", "--rm", "--interactive", "--network=none", IMAGE, "python", "-m",
         "app.hash_password", BENCH_USER],
        input=password + "\n", capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"hashing the benchmark user's password failed: {result.stderr}")
    return result.stdout.strip()


# Run in the app's container: GET /login for the form's CSRF token and the session cookie that
# goes with it, POST the form as a browser does, GET the page once with the cookie the login set,
# and print the cookie that page set: the session with the page's CSRF token, which a browser
# sends from then on (the login's cookie lacks it, so every page view would sign a new one).
# Cookies by hand: the production cookie is Secure, which a cookie jar keeps off plain HTTP.
LOG_IN = """
import re, sys, urllib.parse, urllib.request as u
class Stay(u.HTTPRedirectHandler):
    def redirect_request(self, *args): return None
opener = u.build_opener(Stay)
def cookie(response):
    headers = response.headers.get_all("Set-Cookie")
    return next(h.split(";")[0] for h in headers if h.startswith("session="))
form = opener.open("http://127.0.0.1:5000/login", timeout=5)
token = re.search(r'name="csrf_token" value="([^"]+)"', form.read().decode())[1]
fields = {"username": sys.argv[1], "password": sys.argv[2], "csrf_token": token}
body = urllib.parse.urlencode(fields)
request = u.Request("http://127.0.0.1:5000/login", body.encode(), {"Cookie": cookie(form)})
try:
    opener.open(request, timeout=5)
    raise SystemExit("login answered 2xx, not 303")
except u.HTTPError as answer:
    if answer.code != 303: raise SystemExit(f"login answered {answer.code}")
    logged_in = cookie(answer)
page = opener.open(u.Request("http://127.0.0.1:5000/", headers={"Cookie": logged_in}), timeout=5)
print(cookie(page))
"""


def log_in(server: Server, user: str, password: str) -> str:
    """Log in once through the real /login, view the page once; the Cookie header of then."""
    cookie = docker("exec", server.container, "python", "-c", LOG_IN, user, password, timeout=30)
    if not cookie.startswith("session="):
        raise SystemExit(f"logging in to {server.name} gave no session cookie: {cookie!r}")
    return cookie


def wait_for_redis(container: str, seconds: float = 30) -> None:
    """Wait until the Redis in `container` answers PING (bounded)."""

    def pong() -> bool:
        return "PONG" in docker("exec", container, "redis-cli", "ping", timeout=10)

    # docker() exits (SystemExit) while the container's process is not up yet.
    what = f"Redis in {container} to answer PING"
    wait_until(pong, seconds, what, interval=0.2, retry_on=(SystemExit,))


def limits_of(container: str) -> tuple[str, ...]:
    """`docker run` options for the CPU and memory limits and the worker count of a container."""
    template = "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}} {{json .Config.Env}}"
    nano_cpus, memory, env = docker("inspect", "--format", template, container).split(" ", 2)
    options = ["--cpus", f"{int(nano_cpus) / 1e9:g}"] if int(nano_cpus) else []
    options += ["--memory", memory] if int(memory) else []
    workers = [item for item in json.loads(env) if item.startswith("WEB_CONCURRENCY=")]
    return (*options, *(option for item in workers for option in ("--env", item)))


ACCESS_LINE_PAIR = (  # (server name, network alias, extra options): the image's own command
    ("dockerapp, prod limits", "dockerapp-prod", ()),
    ("dockerapp, prod limits, no access line", "dockerapp-quiet", ("--env", "LOG_LEVEL=WARNING")),
)


def start_references(stack: ExitStack, redis_image: str, prod_limits: tuple) -> list[Server]:
    """The original, the ceiling and the floor (the last two also with prod.yml's limits), and
    dockerapp with prod.yml's limits, with and without access lines."""
    network = f"{PROJECT}-references"
    docker("network", "create", network)
    stack.callback(remove, "network", "rm", network)

    def container(alias: str, image: str, *command: str, options: tuple = ()) -> str:
        # No healthcheck: the stacks' probes are Compose's, and the original has no /healthz.
        mount = f"--volume={ROOT / 'bench'}:/app/bench:ro"
        identifier = docker(
            "run", "--detach", f"--network={network}", f"--network-alias={alias}",
            "--no-healthcheck", mount, *options, image, *command,
        )  # fmt: skip
        stack.callback(remove, "rm", "--force", "--volumes", identifier)
        return identifier

    # Redis as common.yml runs it.
    redis = container(
        "redis", redis_image, "redis-server", "--appendonly", "yes", "--appendfsync", "everysec"
    )
    # The original on its own stack: its image's command, Flask's development server on :5000.
    # It writes key "1" as it starts, and exits if Redis does not answer yet, as the original did.
    wait_for_redis(redis)
    original = container("original", ORIGINAL_IMAGE)
    servers = [Server("original", network, "original", original, redis)]
    gunicorn = ("gunicorn", "--config", "gunicorn.conf.py")
    for name, module in (("ceiling", "bench.hello:app"), ("floor", "bench.floor:app")):
        uncapped = container(name, IMAGE, *gunicorn, module)
        capped = container(f"{name}-prod", IMAGE, *gunicorn, module, options=prod_limits)
        servers.append(Server(name, network, name, uncapped, redis))
        servers.append(Server(f"{name}, prod limits", network, f"{name}-prod", capped, redis))
    # dockerapp itself, run as the references are, with and without its access line: the one
    # part of the contract the floor leaves out that costs the engine too (its log driver).
    for name, alias, environment in ACCESS_LINE_PAIR:
        app = container(alias, IMAGE, options=(*prod_limits, *environment))
        servers.append(Server(name, network, alias, app, redis))
    return servers
