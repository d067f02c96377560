"""GET /api/v1/keys: SCAN-based pages with prefix, cursor and limit; internals never listed."""

import pytest


def list_all(client, **query):
    """Follow next_cursor to the end; returns every page."""
    pages, cursor = [], ""
    for _ in range(10_000):
        page = client.get("/api/v1/keys", query_string={**query, "cursor": cursor}).json
        pages.append(page["keys"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the listing never ended")


def keys_of(pages: list[list[str]]) -> list[str]:
    """All keys of all pages, in order."""
    return [key for page in pages for key in page]


def fill(redis_client, count: int, prefix: str = "item-") -> set[str]:
    """Store `count` keys directly in Redis."""
    keys = {f"{prefix}{n}" for n in range(count)}
    redis_client.mset({f"dockerapp:key:{key}": "v" for key in keys})
    return keys


def test_listing_shape(client):
    response = client.get("/api/v1/keys")
    assert response.status_code == 200
    assert response.json == {"keys": ["1"], "next_cursor": None}


@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_pages_hold_at_most_limit_and_cover_every_key_once(client, redis_client, limit):
    client.get("/api/v1/keys")  # seeds key "1"
    keys = fill(redis_client, 1500) | {"1"}
    pages = list_all(client, limit=limit)
    assert all(len(page) <= limit for page in pages)
    listed = [key for page in pages for key in page]
    assert sorted(listed) == sorted(keys)


def test_prefix_selects_keys_and_is_matched_literally(client, redis_client):
    fill(redis_client, 30, "a-")
    fill(redis_client, 5, "b-")
    redis_client.set("dockerapp:key:star*", "v")
    redis_client.set("dockerapp:key:starry", "v")
    assert sorted(keys_of(list_all(client, prefix="b-"))) == [f"b-{n}" for n in range(5)]
    assert keys_of(list_all(client, prefix="star*")) == ["star*"]
    assert keys_of(list_all(client, prefix="[ab]")) == []


def test_internal_keys_never_show(client, redis_client):
    client.get("/")  # counts a visit
    redis_client.set("unrelated-app-key", "v")
    assert keys_of(list_all(client, prefix="")) == ["1"]
    assert keys_of(list_all(client, prefix="dockerapp:")) == []


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten", "1.5", "٣"])
def test_limit_out_of_range_is_400(client, limit):
    response = client.get("/api/v1/keys", query_string={"limit": limit})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("cursor", ["abc", "12", "1-2-3", "-1-0", "12345678901234567890-0"])
def test_cursor_not_handed_out_by_the_api_is_400(client, cursor):
    response = client.get("/api/v1/keys", query_string={"cursor": cursor})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_prefix_with_control_characters_is_400(client):
    assert client.get("/api/v1/keys", query_string={"prefix": "a\nb"}).status_code == 400
