"""Property-based checks of key and value validation through the API (hypothesis).

Accepted keys and values come back exactly; rejected ones get a problem response and store nothing.
"""

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MAX_VALUE_BYTES = 64
# Control characters (Cc) and lone surrogates (Cs) are the only characters a key may not hold.
KEY_CHARACTERS = st.characters(exclude_categories=["Cc", "Cs"])
VALID_KEYS = st.text(KEY_CHARACTERS, min_size=1, max_size=256)
# Values may hold anything that UTF-8 can encode, control characters included.
VALID_VALUES = st.text(st.characters(exclude_categories=["Cs"]), max_size=16)
CONTROL = st.characters(categories=["Cc"])
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def api(make_app):
    """A client of an app with a small value limit, so size limits are easy to reach."""
    return make_app(max_value_bytes=MAX_VALUE_BYTES).test_client()


def url(key: str) -> str:
    return "/api/v1/keys/" + quote(key, safe="")


@FUZZ
@given(key=VALID_KEYS, value=VALID_VALUES)
def test_valid_keys_and_values_round_trip_exactly(api, redis_client, key, value):
    assert api.put(url(key), json={"value": value}).status_code in (200, 201)
    assert api.get(url(key)).json == {"key": key, "value": value, "ttl": None}
    assert redis_client.get("dockerapp:key:" + key) == value


@FUZZ
@given(
    key=st.builds(
        lambda a, c, b: a + c + b,
        st.text(KEY_CHARACTERS, max_size=10),
        CONTROL,
        st.text(KEY_CHARACTERS, max_size=10),
    )
)
def test_keys_with_a_control_character_are_rejected_and_store_nothing(api, redis_client, key):
    response = api.put(url(key), json={"value": "v"})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert redis_client.keys("dockerapp:key:*") == []


@FUZZ
@given(key=st.text(KEY_CHARACTERS, min_size=257, max_size=400))
def test_keys_over_256_characters_are_rejected_and_store_nothing(api, redis_client, key):
    assert api.put(url(key), json={"value": "v"}).status_code == 400
    assert redis_client.keys("dockerapp:key:*") == []


@FUZZ
@given(
    value=st.text(st.characters(exclude_categories=["Cs"]), min_size=17, max_size=200).filter(
        lambda v: len(v.encode()) > MAX_VALUE_BYTES
    )
)
def test_values_over_the_byte_limit_are_413_and_store_nothing(api, redis_client, value):
    response = api.put(url("k"), json={"value": value})
    assert response.status_code == 413
    assert response.json["status"] == 413
    assert redis_client.get("dockerapp:key:k") is None


@FUZZ
@given(
    value=st.one_of(
        st.integers(),
        st.floats(allow_nan=False),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=3),
    )
)
def test_values_that_are_not_strings_are_400_and_store_nothing(api, redis_client, value):
    response = api.put(url("k"), json={"value": value})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert redis_client.get("dockerapp:key:k") is None


@FUZZ
@given(
    body=st.binary(max_size=40),
    content_type=st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
    ),
)
def test_bodies_that_are_not_json_are_415_and_store_nothing(api, redis_client, body, content_type):
    response = api.put(url("k"), data=body, content_type=content_type)
    assert response.status_code == 415
    assert redis_client.get("dockerapp:key:k") is None
