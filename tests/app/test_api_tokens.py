"""The API's bearer tokens: 401 problem+json without a valid one, 200 with either token."""

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import TOKENS
from helpers import assert_problem, gunicorn

from app import create_app
from app.config import Settings

CHALLENGE = 'Bearer realm="dockerapp"'


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response) -> None:
    """401 problem+json with the Bearer challenge."""
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def test_no_token_is_401_with_the_bearer_challenge(locked_app):
    assert_refused(locked_app.test_client().get("/api/v1/keys/1"))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token",
        f"Bearer {TOKENS[0]}x",
        f"Bearer {TOKENS[0][:-1]}",
        f"Basic {TOKENS[0]}",
        f"{TOKENS[0]}",
        "Bearer ",
        "Bearer caf\u00e9",
    ],
)
def test_a_wrong_token_is_401(locked_app, authorization):
    client = locked_app.test_client()
    assert_refused(client.get("/api/v1/keys/1", headers={"Authorization": authorization}))


@pytest.mark.parametrize("token", TOKENS)
def test_each_token_of_the_file_is_let_in(locked_app, token):
    client = locked_app.test_client()
    assert client.get("/api/v1/keys/1", headers=bearer(token)).json["value"] == "one"
    put = client.put("/api/v1/keys/k", json={"value": "v"}, headers=bearer(token))
    assert put.status_code in (200, 201)
    assert client.get("/api/v1/keys", headers=bearer(token)).status_code == 200
    assert client.delete("/api/v1/keys/k", headers=bearer(token)).status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/api/v1/keys/k"), ("DELETE", "/api/v1/keys/1"), ("GET", "/api/v1/keys")],
)
def test_every_api_operation_needs_the_token(locked_app, redis_client, method, path):
    response = locked_app.test_client().open(path, method=method, json={"value": "x"})
    assert_refused(response)
    assert redis_client.get("dockerapp:key:k") is None


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json"])
def test_health_metrics_and_the_description_stay_open(locked_app, path):
    assert locked_app.test_client().get(path).status_code == 200


def test_without_a_tokens_file_the_api_is_open(make_app):
    assert make_app().test_client().get("/api/v1/keys/1").status_code == 200


def test_a_token_removed_from_the_file_is_refused_by_the_next_app(
    tmp_path, redis_url, redis_client
):
    tokens_file = tmp_path / "api_tokens"
    tokens_file.write_text(f"{TOKENS[0]}\n{TOKENS[1]}\n")
    environ = {"REDIS_URL": redis_url, "API_TOKENS_FILE": str(tokens_file)}
    before = create_app(Settings.from_environ(environ)).test_client()
    assert before.get("/api/v1/keys/1", headers=bearer(TOKENS[0])).status_code == 200
    tokens_file.write_text(f"{TOKENS[1]}\n")  # TOKENS[0] retired
    after = create_app(Settings.from_environ(environ)).test_client()  # what a new worker does
    assert_refused(after.get("/api/v1/keys/1", headers=bearer(TOKENS[0])))
    assert after.get("/api/v1/keys/1", headers=bearer(TOKENS[1])).status_code == 200


def test_tokens_appear_in_no_log_line_error_or_metric(capsys, make_locked_app):
    client = make_locked_app(log_level="DEBUG").test_client()
    client.get("/api/v1/keys/1", headers=bearer(TOKENS[0]))
    refused = client.get("/api/v1/keys/1", headers=bearer("guessed-token-abc"))
    client.get("/api/v1/keys/missing", headers=bearer(TOKENS[1]))
    metrics = client.get("/metrics").text
    output = capsys.readouterr()
    logged = output.out + output.err
    assert '"logger": "dockerapp.access"' in logged  # the requests were logged...
    for secret in (*TOKENS, "guessed-token-abc"):  # ...without their tokens
        assert secret not in logged
        assert secret not in metrics
        assert secret not in refused.text


def get_status(url: str, token: str) -> int:
    """The status of GET `url` with `token`."""
    request = urllib.request.Request(url, headers=bearer(token))
    try:
        # Long enough for a worker that a HUP just started to import the app, even under QEMU.
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def workers(parent: int) -> set[int]:
    """The process ids of `parent`'s children (gunicorn's workers), from /proc."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[1]) == parent:  # the field after the state is the parent's id
            children.add(int(stat.parent.name))
    return children


def test_gunicorn_reads_the_tokens_again_after_hup(tmp_path, redis_url, redis_client):
    """The documented reload step: edit the file, SIGHUP gunicorn, new workers read it."""
    tokens_file = tmp_path / "api_tokens"
    tokens_file.write_text(f"{TOKENS[0]}\n{TOKENS[1]}\n")
    environment = {"API_TOKENS_FILE": str(tokens_file)}
    with gunicorn(redis_url, tmp_path / "metrics", environment=environment) as (base, process):
        url = base + "/api/v1/keys/1"
        assert get_status(url, TOKENS[0]) == 200
        tokens_file.write_text(f"{TOKENS[1]}\n")
        assert get_status(url, TOKENS[0]) == 200  # nothing rereads the file by itself
        old_workers = workers(process.pid)
        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        # Until the old workers have stopped and two new ones serve.
        while (current := workers(process.pid)) & old_workers or len(current) != 2:
            assert time.monotonic() < deadline, f"workers {old_workers} -> {current} after HUP"
            time.sleep(0.2)
        for _ in range(4):  # (4 refusals more stay under the rate limit)
            assert get_status(url, TOKENS[0]) == 401
            assert get_status(url, TOKENS[1]) == 200
        process.terminate()
        output = process.communicate(timeout=15)
    for stream in output:
        assert TOKENS[0] not in stream and TOKENS[1] not in stream
    assert any(
        json.loads(line).get("status") == 401
        for line in output[0].splitlines()
        if line.startswith("{")
    )
