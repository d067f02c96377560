"""publish.sh refuses bad input before pushing anything, and never shows or stores a secret.

The refusals need no build: each stops before the login or at it. One traced publish (one
platform, from the build cache) checks the secrets under `bash -x` on a feature branch.
"""

import base64
import json

import pytest

FEATURE_BRANCH = {"CIRCLE_BRANCH": "feature/login-form"}
OTHER_SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.parametrize(
    "given, missing",
    [
        ({}, "DOCKER_HUB_USER_ID DOCKER_HUB_PWD"),
        ({"DOCKER_HUB_PWD": "token"}, "DOCKER_HUB_USER_ID"),
        ({"DOCKER_HUB_USER_ID": "someone"}, "DOCKER_HUB_PWD"),
    ],
)
def test_missing_credentials_are_named_in_one_line(publish, tmp_path, given, missing):
    result = publish(given, tmp_path)
    assert result.returncode != 0
    assert f"publish: missing required variable(s): {missing} " in result.stdout


def test_make_publish_names_missing_variables_too(publish, tmp_path):
    result = publish({}, tmp_path, via_make=True)
    assert result.returncode != 0
    assert "missing required variable(s): DOCKER_HUB_USER_ID DOCKER_HUB_PWD" in result.stdout


@pytest.fixture
def refused(registry, signing_key, publish, tmp_path):
    """Publish with one setting changed; assert that it failed and pushed nothing; the output."""

    def refused(**changed: str) -> str:
        settings = {**registry.credentials("refused"), **signing_key.signing(), **changed}
        result = publish({k: v for k, v in settings.items() if v is not None}, tmp_path)
        assert result.returncode != 0, result.stdout[-2000:]
        assert registry.tags("refused") == []
        return result.stdout

    return refused


def test_a_short_sha_is_refused(refused):
    assert "GIT_SHA must be a full 40-character commit SHA" in refused(GIT_SHA="abc1234")


def test_a_commit_other_than_the_checked_out_one_is_refused(refused, head_sha):
    output = refused(GIT_SHA=OTHER_SHA)
    assert f"GIT_SHA {OTHER_SHA} is not the checked-out commit {head_sha}" in output


def test_runtime_image_is_refused_rather_than_ignored(refused):
    output = refused(RUNTIME_IMAGE="dockerapp:latest")
    assert "RUNTIME_IMAGE is no longer supported" in output


def test_a_malformed_platform_list_is_refused(refused):
    assert "PLATFORMS must be a comma-separated list" in refused(PLATFORMS="amd64 arm64")


def test_publishing_without_a_way_to_sign_is_refused(refused):
    output = refused(COSIGN_KEY=None, COSIGN_PASSWORD=None)
    assert "nothing to sign with: set COSIGN_KEY and COSIGN_PASSWORD" in output


def test_a_key_without_its_password_is_refused(refused):
    assert "COSIGN_KEY is set but COSIGN_PASSWORD is not" in refused(COSIGN_PASSWORD=None)


def test_a_key_path_that_does_not_exist_is_refused(refused, tmp_path):
    output = refused(COSIGN_KEY=str(tmp_path / "nosuch.key"))
    assert (
        "COSIGN_KEY is neither a PEM private key, nor a readable key file, nor a KMS URI" in output
    )


def test_a_key_in_another_encoding_is_refused_without_being_shown(
    registry, signing_key, publish, tmp_path
):
    """A base64-wrapped key is neither PEM nor a path: refused, and not echoed under tracing."""
    wrapped = base64.b64encode(signing_key.private.read_bytes()).decode()
    result = publish(
        {**registry.credentials("refused"), **signing_key.signing(), "COSIGN_KEY": wrapped},
        tmp_path,
        trace=True,
    )
    assert result.returncode != 0
    assert "COSIGN_KEY is neither a PEM private key" in result.stdout
    assert wrapped not in result.stdout
    assert registry.tags("refused") == []


def test_keyless_signing_without_the_transparency_log_is_refused(refused):
    output = refused(
        COSIGN_KEY=None,
        COSIGN_PASSWORD=None,
        SIGSTORE_ID_TOKEN="e30.e30.sig",
        TRANSPARENCY_LOG="false",
    )
    assert "keyless signing needs the transparency log" in output


def test_wrong_password_fails_clearly_and_pushes_nothing(registry, refused):
    output = refused(DOCKER_HUB_PWD="not-the-password")
    assert f"docker login to {registry.host} as refused failed" in output
    assert "nothing was pushed" in output


def test_wrong_password_is_not_echoed_under_tracing(registry, signing_key, publish, tmp_path):
    wrong = "wrong-Pa55word-that-must-not-leak"
    result = publish(
        {
            **registry.credentials("wrong"),
            **signing_key.signing(inline=True),
            "DOCKER_HUB_PWD": wrong,
        },
        tmp_path,
        trace=True,
    )
    assert result.returncode != 0
    assert "+ docker login" in result.stdout  # tracing really was on
    assert wrong not in result.stdout
    assert registry.tags("wrong") == []


@pytest.fixture(scope="module")
def traced(registry, signing_key, publish, tmp_path_factory):
    """`bash -x scripts/publish.sh` on a feature branch, the key given inline as CI secrets are.

    The caller's DOCKER_CONFIG holds a config.json, to show that publishing leaves it alone.
    """
    docker_config = tmp_path_factory.mktemp("caller-docker-config")
    (docker_config / "config.json").write_text('{"auths": {}}\n')
    result = publish(
        {
            **registry.credentials("trace"),
            **signing_key.signing(inline=True),
            **FEATURE_BRANCH,
            "PLATFORMS": "linux/amd64",
        },
        docker_config,
        trace=True,
    )
    return result, docker_config


def secrets_of(registry, signing_key) -> dict:
    """Every secret the traced publish was given, and the lines of the key's PEM body."""
    key_lines = [
        line for line in signing_key.private.read_text().splitlines() if "-----" not in line
    ]
    return {
        "registry password": registry.passwords["trace"],
        "cosign password": signing_key.password,
        "cosign key": signing_key.private.read_text().strip(),
        **{f"cosign key line {n}": line for n, line in enumerate(key_lines) if len(line) > 16},
    }


def test_the_traced_publish_succeeds_with_tracing_on(traced, registry, signing_key):
    result, _ = traced
    output = result.stdout
    for name, secret in secrets_of(registry, signing_key).items():
        output = output.replace(secret, f"<{name}>")
    assert result.returncode == 0, output[-3000:]
    assert "+ docker login" in output and "+ cosign sign" in output


def test_no_secret_appears_in_the_traced_output(traced, registry, signing_key):
    result, _ = traced
    leaked = [
        name
        for name, secret in secrets_of(registry, signing_key).items()
        if secret in result.stdout
    ]
    assert leaked == []


def test_other_branches_push_only_the_sha_tag(traced, registry, head_sha):
    assert registry.tags("trace") == [head_sha]


def test_login_does_not_touch_the_callers_docker_config(traced):
    _, docker_config = traced
    assert (docker_config / "config.json").read_text() == '{"auths": {}}\n'
    assert [path.name for path in docker_config.iterdir()] == ["config.json"]
    assert json.loads((docker_config / "config.json").read_text()) == {"auths": {}}
