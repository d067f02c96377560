"""Settings from the environment: defaults, *_FILE secrets, the production switch, bad values."""

import pytest

from app.config import DEVELOPMENT_SECRET_KEY, ConfigError, Settings

STRONG = "a-long-random-secret-from-the-secret-store"
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


@pytest.fixture
def credential_files(tmp_path) -> dict[str, str]:
    """API_TOKENS_FILE and USERS_FILE naming small, valid files."""
    (tmp_path / "api_tokens").write_text("# rotated 2026-12\ntoken-one\n\ntoken-two\n")
    (tmp_path / "users").write_text(f"alice:{HASH}\n")
    return {
        "API_TOKENS_FILE": str(tmp_path / "api_tokens"),
        "USERS_FILE": str(tmp_path / "users"),
    }


def test_defaults_work_for_docker_compose_up():
    settings = Settings.from_environ({})
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.app_env == "development"
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY
    assert settings.max_value_bytes == 65536
    assert settings.log_level == "INFO"
    assert settings.redis_password is None
    assert settings.api_tokens is None  # no tokens file: the API is open in development
    assert settings.users is None  # no users file: so is the page
    assert settings.proxy_hops == 0
    assert settings.secure_cookies is False  # the dev stack serves plain http


def test_values_are_read_from_the_environment(credential_files):
    settings = Settings.from_environ(
        {
            **credential_files,
            "PROXY_HOPS": "1",
            "SESSION_LIFETIME_SECONDS": "600",
            "REDIS_URL": "redis://cache:6380/2",
            "REDIS_PASSWORD": "pw",
            "SECRET_KEY": STRONG,
            "APP_ENV": "Production",
            "MAX_VALUE_BYTES": "1024",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.redis_password == "pw"
    assert settings.secret_key == STRONG
    assert settings.app_env == "production"
    assert settings.max_value_bytes == 1024
    assert settings.log_level == "DEBUG"
    assert settings.api_tokens == ("token-one", "token-two")
    assert settings.users == {"alice": HASH}
    assert settings.proxy_hops == 1
    assert settings.session_lifetime_seconds == 600
    assert settings.secure_cookies is True


def test_credentials_stay_out_of_the_settings_repr(credential_files):
    settings = Settings.from_environ(credential_files)
    assert "token-one" not in repr(settings)
    assert HASH not in repr(settings)


def test_a_credentials_file_set_in_development_is_enforced(credential_files):
    settings = Settings.from_environ({"API_TOKENS_FILE": credential_files["API_TOKENS_FILE"]})
    assert settings.app_env == "development"
    assert settings.api_tokens == ("token-one", "token-two")
    assert settings.users is None


def test_a_proxy_hop_makes_the_session_cookie_secure_even_in_development():
    assert Settings.from_environ({"PROXY_HOPS": "1"}).secure_cookies is True


def test_secrets_are_read_from_files(tmp_path, credential_files):
    (tmp_path / "secret_key").write_text(STRONG + "\n")
    (tmp_path / "redis_password").write_text("pw\n")
    settings = Settings.from_environ(
        {
            "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
            "REDIS_PASSWORD_FILE": str(tmp_path / "redis_password"),
            "APP_ENV": "production",
            **credential_files,
        }
    )
    assert settings.secret_key == STRONG
    assert settings.redis_password == "pw"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"APP_ENV": "production"}, "SECRET_KEY is missing"),
        (
            {"APP_ENV": "production", "SECRET_KEY": STRONG},
            "API_TOKENS_FILE and USERS_FILE are missing; APP_ENV=production needs",
        ),
        (
            {"APP_ENV": "production", "SECRET_KEY": STRONG, "USERS_FILE": "/x"},
            "API_TOKENS_FILE is missing; APP_ENV=production needs",
        ),
        (
            {"APP_ENV": "production", "SECRET_KEY": STRONG, "API_TOKENS_FILE": "/x"},
            "USERS_FILE is missing; APP_ENV=production needs",
        ),
        ({"API_TOKENS_FILE": "/nonexistent/tokens"}, "API_TOKENS_FILE: cannot read"),
        ({"USERS_FILE": "/nonexistent/users"}, "USERS_FILE: cannot read /nonexistent/users"),
        ({"PROXY_HOPS": "-1"}, "PROXY_HOPS='-1' must be a whole number from 0 to 5"),
        ({"PROXY_HOPS": "6"}, "PROXY_HOPS='6' must be a whole number from 0 to 5"),
        ({"SESSION_LIFETIME_SECONDS": "5"}, "SESSION_LIFETIME_SECONDS='5' must be a whole"),
        (
            {"APP_ENV": "production", "SECRET_KEY": DEVELOPMENT_SECRET_KEY},
            "SECRET_KEY is the development default",
        ),
        ({"APP_ENV": "staging"}, "APP_ENV='staging' is not one of"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD' is not one of"),
        ({"MAX_VALUE_BYTES": "lots"}, "MAX_VALUE_BYTES='lots' must be a whole number"),
        ({"MAX_VALUE_BYTES": "0"}, "MAX_VALUE_BYTES='0' must be a whole number"),
        ({"REDIS_URL": "http://redis:6379"}, "REDIS_URL is not a valid"),
        ({"REDIS_URL": "redis://redis:port/0"}, "REDIS_URL is not a valid"),
        (
            {"SECRET_KEY": "a", "SECRET_KEY_FILE": "/x"},
            "SECRET_KEY and SECRET_KEY_FILE are both set",
        ),
        (
            {"SECRET_KEY_FILE": "/nonexistent/secret"},
            "SECRET_KEY_FILE: cannot read /nonexistent/secret",
        ),
    ],
)
def test_bad_settings_are_one_line_naming_the_variable(environ, message):
    with pytest.raises(ConfigError) as error:
        Settings.from_environ(environ)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_an_empty_secret_file_is_refused(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match=r"REDIS_PASSWORD_FILE: .* is empty"):
        Settings.from_environ({"REDIS_PASSWORD_FILE": str(tmp_path / "empty")})


def test_a_bad_redis_url_is_not_echoed_because_it_may_hold_a_password():
    with pytest.raises(ConfigError) as error:
        Settings.from_environ({"REDIS_URL": "ftp://user:hunter2@redis"})
    assert "hunter2" not in str(error.value)


def test_production_with_a_real_secret_and_both_files_starts(credential_files):
    environ = {"APP_ENV": "production", "SECRET_KEY": STRONG, **credential_files}
    assert Settings.from_environ(environ).app_env == "production"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("API_TOKENS_FILE", "good\nbad token\n", "line 2 holds a space"),
        ("USERS_FILE", "alice\n", "line 1 is not name:<argon2id hash>"),
        ("USERS_FILE", "alice:$2b$12$bcrypt\n", "line 1 is not name:<argon2id hash>"),
        ("USERS_FILE", f"al ice:{HASH}\n", "line 1 is not name:<argon2id hash>"),
        ("USERS_FILE", f"alice:{HASH}\nalice:{HASH}\n", "line 2 repeats user 'alice'"),
    ],
)
def test_a_bad_credentials_line_is_named_by_number_not_echoed(tmp_path, name, content, message):
    (tmp_path / "file").write_text(content)
    with pytest.raises(ConfigError) as error:
        Settings.from_environ({name: str(tmp_path / "file")})
    assert str(error.value).startswith(f"{name}: {tmp_path / 'file'}: {message}")
    assert "bad token" not in str(error.value)
    assert "bcrypt" not in str(error.value)
