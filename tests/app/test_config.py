"""Settings from the environment: defaults, *_FILE secrets, the production switch, bad values."""

import pytest

from app.config import DEVELOPMENT_SECRET_KEY, ConfigError, Settings

STRONG = "a-long-random-secret-from-the-secret-store"


def test_defaults_work_for_docker_compose_up():
    settings = Settings.from_environ({})
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.app_env == "development"
    assert settings.secret_key == DEVELOPMENT_SECRET_KEY
    assert settings.max_value_bytes == 65536
    assert settings.log_level == "INFO"
    assert settings.redis_password is None
    assert settings.redis_sentinels == ()  # one Redis at REDIS_URL
    assert settings.redis_min_replicas_acked == 0  # no waiting for replicas


def test_sentinel_settings_are_read_from_the_environment():
    settings = Settings.from_environ(
        {
            "REDIS_SENTINELS": "sentinel-1:26379, sentinel-2:26380,[::1]:26381",
            "REDIS_PRIMARY_NAME": "shop",
            "REDIS_MIN_REPLICAS_ACKED": "1",
        }
    )
    assert settings.redis_sentinels == (
        ("sentinel-1", 26379),
        ("sentinel-2", 26380),
        ("::1", 26381),
    )
    assert settings.redis_primary_name == "shop"
    assert settings.redis_min_replicas_acked == 1


def test_values_are_read_from_the_environment():
    settings = Settings.from_environ(
        {
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


def test_secrets_are_read_from_files(tmp_path):
    (tmp_path / "secret_key").write_text(STRONG + "\n")
    (tmp_path / "redis_password").write_text("pw\n")
    settings = Settings.from_environ(
        {
            "SECRET_KEY_FILE": str(tmp_path / "secret_key"),
            "REDIS_PASSWORD_FILE": str(tmp_path / "redis_password"),
            "APP_ENV": "production",
        }
    )
    assert settings.secret_key == STRONG
    assert settings.redis_password == "pw"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"APP_ENV": "production"}, "SECRET_KEY is missing"),
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
        ({"REDIS_SENTINELS": "sentinel-1"}, "REDIS_SENTINELS='sentinel-1' must be host:port"),
        ({"REDIS_SENTINELS": "a:26379,b:0"}, "REDIS_SENTINELS='a:26379,b:0' must be host:port"),
        ({"REDIS_MIN_REPLICAS_ACKED": "one"}, "REDIS_MIN_REPLICAS_ACKED='one' must be a whole"),
        ({"REDIS_MIN_REPLICAS_ACKED": "-1"}, "REDIS_MIN_REPLICAS_ACKED='-1' must be a whole"),
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


def test_production_with_a_real_secret_starts():
    assert (
        Settings.from_environ({"APP_ENV": "production", "SECRET_KEY": STRONG}).app_env
        == "production"
    )
