"""The README's quickstart, run as a newcomer would: from a fresh clone, exactly as written."""

import os
import re
import subprocess

from conftest import PREFIX, ROOT, base_images, http_body, run

from tests.host_helpers import wait_until

QUICKSTART_PORT = "16050"


def quickstart_commands() -> list[str]:
    """The commands of the README's Quickstart code block, comments dropped."""
    section = (ROOT / "README.md").read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    lines = [line[4:] for line in section.splitlines() if line.startswith("    docker ")]
    return [line.split("#", 1)[0].strip() for line in lines]


def test_readme_quickstart_serves_the_page_and_passes_the_suite_from_a_fresh_clone(tmp_path):
    up, suite = quickstart_commands()
    assert up == "docker compose up --build --watch"
    assert suite == "docker compose run --rm dockerapp python test.py"
    clone = tmp_path / "dockerapp"
    run("git", "clone", "--quiet", str(ROOT), str(clone))
    # What the README tells people without a registry to put in .env (make base-images prints it).
    (clone / ".env").write_text(
        "".join(f"{name}={value}\n" for name, value in base_images().items())
    )
    env = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": f"{PREFIX}-quickstart",
        "DOCKERAPP_PORT": QUICKSTART_PORT,
        "DOCKERAPP_DEV_IMAGE": f"{PREFIX}:quickstart",
    }
    log = (tmp_path / "up.log").open("w")
    watching = subprocess.Popen(
        up.split(), cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{QUICKSTART_PORT}/?key=1"
        page = wait_until(lambda: http_body(url), 300, "the quickstart's page")
        assert re.search(r"\bone\b", page)  # on a fresh store, key 1 holds "one"
        result = subprocess.run(suite.split(), cwd=clone, env=env, capture_output=True, text=True,
                                timeout=900)  # fmt: skip
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        assert re.search(r"\d+ passed", result.stdout)
    finally:
        watching.terminate()
        watching.wait(timeout=60)
        subprocess.run(["docker", "compose", "down", "--volumes"], cwd=clone, env=env,
                       capture_output=True)  # fmt: skip
        run("docker", "rmi", f"{PREFIX}:quickstart", check=False)
