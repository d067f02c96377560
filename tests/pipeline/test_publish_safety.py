"""publish.sh refuses bad input before pushing anything, and never shows or stores the password."""

import pytest

FEATURE_BRANCH = {"CIRCLE_BRANCH": "feature/login-form"}


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


def test_a_short_sha_is_refused(publish, tmp_path):
    result = publish(
        {"DOCKER_HUB_USER_ID": "someone", "DOCKER_HUB_PWD": "token", "GIT_SHA": "abc1234"}, tmp_path
    )
    assert result.returncode != 0
    assert "GIT_SHA must be a full 40-character commit SHA" in result.stdout


def test_wrong_password_fails_clearly_and_pushes_nothing(
    registry, runtime_image, publish, tmp_path
):
    before = registry.tags("wrong")
    result = publish(
        {
            **registry.credentials("wrong"),
            "DOCKER_HUB_PWD": "not-the-password",
            "RUNTIME_IMAGE": runtime_image,
        },
        tmp_path,
    )
    assert result.returncode != 0
    assert f"docker login to {registry.host} as wrong failed" in result.stdout
    assert "nothing was pushed" in result.stdout
    assert registry.tags("wrong") == before == []


def test_an_image_labelled_with_another_commit_is_not_pushed(
    registry, runtime_image, publish, tmp_path
):
    other_sha = "0123456789abcdef0123456789abcdef01234567"
    result = publish(
        {**registry.credentials("mismatch"), "RUNTIME_IMAGE": runtime_image, "GIT_SHA": other_sha},
        tmp_path,
    )
    assert result.returncode != 0
    assert f"not {other_sha}; refusing to push it" in result.stdout
    assert registry.tags("mismatch") == []


def test_other_branches_push_only_the_sha_tag(registry, runtime_image, head_sha, publish, tmp_path):
    result = publish(
        {**registry.credentials("branch"), **FEATURE_BRANCH, "RUNTIME_IMAGE": runtime_image},
        tmp_path,
    )
    assert result.returncode == 0, result.stdout
    assert registry.tags("branch") == [head_sha]


def test_password_never_appears_in_traced_output(registry, runtime_image, publish, tmp_path):
    password = registry.passwords["trace"]
    result = publish(
        {**registry.credentials("trace"), **FEATURE_BRANCH, "RUNTIME_IMAGE": runtime_image},
        tmp_path,
        trace=True,
    )
    assert result.returncode == 0, result.stdout.replace(password, "***")
    assert "+ docker login" in result.stdout  # tracing really was on
    assert password not in result.stdout


def test_wrong_password_is_not_echoed_either(registry, publish, tmp_path):
    wrong = "wrong-Pa55word-that-must-not-leak"
    result = publish(
        {**registry.credentials("trace"), "DOCKER_HUB_PWD": wrong}, tmp_path, trace=True
    )
    assert result.returncode != 0
    assert "+ docker login" in result.stdout
    assert wrong not in result.stdout


def test_login_does_not_touch_the_callers_docker_config(registry, runtime_image, publish, tmp_path):
    config = tmp_path / "config.json"
    config.write_text('{"auths": {}}\n')
    result = publish(
        {**registry.credentials("config"), **FEATURE_BRANCH, "RUNTIME_IMAGE": runtime_image},
        tmp_path,
    )
    assert result.returncode == 0, result.stdout
    assert config.read_text() == '{"auths": {}}\n'
    assert [path.name for path in tmp_path.iterdir()] == ["config.json"]
