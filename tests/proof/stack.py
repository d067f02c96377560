"""The production Compose stack under test, driven through the docker CLI.

The suite runs prod.yml as users run it, with three test-only differences: its own project
name, the app itself published on 127.0.0.1 (tests/prod-app-published.yml, with Caddy left
off: tests/edge runs that edge), and throwaway secret files (a generated override file).
"""

import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import requests

from tests.host_helpers import docker, wait_until

PROJECT = "dockerapp-proof"
APP, REDIS = "dockerapp", "redis"
SECRET_NAMES = ("redis_password", "secret_key")
CREDENTIAL_NAMES = ("api_tokens", "users")  # credentials.py writes them


def write_override(path: Path, secrets_dir: Path) -> None:
    """Point prod.yml's secrets at throwaway files, leaving ./secrets (maybe real ones) alone."""
    names = (*SECRET_NAMES, *CREDENTIAL_NAMES)
    secrets = "".join(f"  {name}:\n    file: {secrets_dir / name}\n" for name in names)
    path.write_text(f"secrets:\n{secrets}")


class ProdStack:
    """prod.yml started under its own project name, with helpers to poke at it."""

    def __init__(self, repo, override, user, tag, port, secrets, extra_env):
        self.repo, self.override, self.port, self.secrets = repo, override, port, secrets
        self.image = f"{user}/dockerapp:{tag}"
        # prod.yml runs ${DOCKER_HUB_USER_ID}/dockerapp:${TAG}: point it at the image built here.
        self.compose_env = {
            "DOCKER_HUB_USER_ID": user,
            "TAG": tag,
            "DOCKERAPP_ADDRESS": "127.0.0.1",
            "DOCKERAPP_PORT": str(port),
            "DOMAIN": "dockerapp.test",  # prod.yml requires it; its Caddy stays off here
            **extra_env,
        }
        self.base_url = f"http://127.0.0.1:{port}"

    def compose_command(self) -> list[str]:
        # tests/prod-app-published.yml publishes the app itself: these checks probe the app
        # (faults, load, bad input); tests/edge checks the Caddy edge in front of it.
        published = self.repo / "tests" / "prod-app-published.yml"
        files = ["-f", str(self.repo / "prod.yml"), "-f", str(published), "-f", str(self.override)]
        return ["docker", "compose", "-p", PROJECT, "--project-directory", str(self.repo), *files]

    def compose_process_env(self) -> dict[str, str]:
        return {**os.environ, **self.compose_env}

    def compose(
        self, *args: str, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess:
        return docker(
            *self.compose_command()[1:], *args, timeout=timeout, check=check, env=self.compose_env
        )

    def up(self) -> None:
        """Start (or restart missing) services and wait until Compose reports them healthy."""
        self.compose("up", "-d", "--wait", "--wait-timeout", "120", timeout=180)

    def down(self) -> None:
        """Remove containers, networks and the Redis volume (`down -v`)."""
        self.compose("down", "-v", "--remove-orphans", "--timeout", "10", timeout=120, check=False)

    def container(self, service: str) -> str:
        """The container id of a service, running or stopped."""
        ids = self.compose("ps", "-a", "-q", service).stdout.split()
        assert len(ids) == 1, f"expected one {service} container, found {ids}"
        return ids[0]

    def inspect(self, service: str) -> dict:
        return json.loads(docker("inspect", self.container(service)).stdout)[0]

    def exec(
        self, service: str, *command: str, env: dict[str, str] | None = None, check: bool = True
    ):
        env_args = [arg for name, value in (env or {}).items() for arg in ("-e", f"{name}={value}")]
        return docker("exec", *env_args, self.container(service), *command, timeout=60, check=check)

    def redis_cli(self, *args: str, password: str | None = "") -> str:
        """redis-cli inside the Redis container; the password goes in its environment, not argv.

        Fails on a non-zero exit (redis-cli's, on an error reply too, or docker's): an empty
        answer must mean Redis had nothing to say, never that the question did not reach it.
        """
        password = self.secrets["redis_password"] if password == "" else password
        env = {"REDISCLI_AUTH": password} if password is not None else {}
        command = ("redis-cli", "-e", "--no-auth-warning", *args)  # -e: an error reply fails too
        result = self.exec(REDIS, *command, env=env, check=False)
        # Not the CompletedProcess itself: its argv holds the password.
        assert result.returncode == 0, (
            f"redis-cli {args[0]} -> {result.returncode}: {result.stdout}{result.stderr}"
        )
        return result.stdout

    def kill(self, service: str) -> float:
        """SIGKILL the service's container; return when it died, on time.monotonic()'s clock.

        The engine's record of the exit, not the time around the docker CLI call: on a busy
        host the CLI alone can take most of a second to start, and that is not the app's time.
        """
        docker("kill", "-s", "KILL", self.container(service))

        def state_once_exited() -> dict | None:
            state = self.inspect(service)["State"]
            return None if state["Running"] else state

        state = wait_until(state_once_exited, 10, f"{service} to die of SIGKILL", interval=0.05)
        died = datetime.fromisoformat(state["FinishedAt"]).timestamp()
        return time.monotonic() - (time.time() - died)

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_ready(self, seconds: float = 60) -> float:
        """Poll /readyz until 200; return how long it took (bounded, fails after `seconds`)."""
        start = time.monotonic()
        wait_until(
            lambda: requests.get(self.url("/readyz"), timeout=2).status_code == 200,
            seconds,
            "/readyz to answer 200",
            interval=0.1,
            retry_on=(requests.RequestException,),
        )
        return time.monotonic() - start

    def container_ip(self, service: str, internal: bool) -> str:
        """The service's address on its internal (back) or non-internal (front) network."""
        for name, network in self.inspect(service)["NetworkSettings"]["Networks"].items():
            if network_is_internal(name) == internal:
                return network["IPAddress"]
        raise AssertionError(f"{service} has no {'internal' if internal else 'external'} network")


def network_is_internal(name: str) -> bool:
    return json.loads(docker("network", "inspect", name).stdout)[0]["Internal"]
