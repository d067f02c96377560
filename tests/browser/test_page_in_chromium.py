"""The page in a real browser: Chromium driven by Playwright, at desktop and phone sizes.

Debian's /usr/bin/chromium by default (no `playwright install` needed); CHROMIUM names another
binary, and CHROMIUM="" takes the browser that `playwright install chromium` downloaded.
Screenshots land in the `artifacts_dir` (see conftest.py).
"""

import json
import os
import urllib.request
import uuid
from urllib.parse import quote

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium") or None
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
DESKTOP = {"width": 1100, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own cookies) and page, at desktop size."""
    context = browser.new_context(viewport=DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser):
    """A fresh page on a phone: its width, touch, and the page's viewport meta tag honoured."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


def unique_key(prefix: str) -> str:
    """A key no other test (or earlier run against the same Redis) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_url(app_url: str, key: str) -> str:
    return f"{app_url}/api/v1/keys/{quote(key, safe='')}"


def put_through_the_api(app_url: str, key: str, value: str) -> None:
    """Store a value without the page, so what the page shows can only come from Redis."""
    body = json.dumps({"value": value}).encode()
    request = urllib.request.Request(
        api_url(app_url, key), data=body, method="PUT", headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).close()


def stored_value(app_url: str, key: str) -> str:
    with urllib.request.urlopen(api_url(app_url, key), timeout=5) as response:
        return json.load(response)["value"]


def load_through_the_form(page, app_url: str, key: str) -> None:
    """Type a key on a fresh page and press Load, as a person would."""
    page.goto(app_url + "/")
    page.fill("#key", key)
    page.click("button[value=load]")


def test_load_fills_the_value_field_and_an_edit_saves(page, app_url):
    key = unique_key("edit")
    put_through_the_api(app_url, key, "first draft")

    load_through_the_form(page, app_url, key)
    expect(page.locator("#key")).to_have_value(key)
    expect(page.locator("#cache_value")).to_have_value("first draft")
    expect(page.locator("#result")).to_have_text(f"Loaded {key}: first draft")

    page.fill("#cache_value", "second draft")
    page.click("button[value=save]")
    expect(page.locator("#result")).to_have_text(f"Saved {key}: second draft")
    expect(page.locator("#cache_value")).to_have_value("second draft")

    load_through_the_form(page, app_url, key)
    expect(page.locator("#cache_value")).to_have_value("second draft")
    assert stored_value(app_url, key) == "second draft"


def test_bookmarked_lookup_fills_the_form(page, app_url):
    key = unique_key("bookmark")
    put_through_the_api(app_url, key, "from a link")
    page.goto(f"{app_url}/?key={quote(key)}")
    expect(page.locator("#key")).to_have_value(key)
    expect(page.locator("#cache_value")).to_have_value("from a link")


def test_loading_an_absent_key_empties_the_value_field_and_says_so(page, app_url):
    key = unique_key("absent")
    page.goto(app_url + "/")
    page.fill("#key", key)
    page.fill("#cache_value", "typed, never saved")
    page.click("button[value=load]")
    expect(page.locator("#cache_value")).to_have_value("")
    expect(page.locator("#result")).to_have_text(f"No value is stored under {key}.")


def test_a_multi_line_value_survives_load_then_save_unchanged(page, app_url):
    key, value = unique_key("lines"), "\nstarts with a newline\n  indented\nends with one\n"
    put_through_the_api(app_url, key, value)
    page.goto(f"{app_url}/?key={quote(key)}")
    expect(page.locator("#cache_value")).to_have_value(value)
    page.click("button[value=save]")
    expect(page.locator("#result")).to_contain_text(f"Saved {key}:")
    assert stored_value(app_url, key) == value  # not CRLF, as the browser sent it


def test_result_keeps_each_label_with_its_value_on_desktop(page, app_url, artifacts_dir):
    key = unique_key("desktop")
    put_through_the_api(app_url, key, "a value worth keeping")
    load_through_the_form(page, app_url, key)
    page.screenshot(path=artifacts_dir / "page-desktop-1100x800.png", full_page=True)

    result = page.locator("#result").bounding_box()
    shown_key = page.locator("#result-key").bounding_box()
    shown_value = page.locator("#result-value").bounding_box()
    assert shown_key["y"] == pytest.approx(shown_value["y"], abs=1)  # one line
    assert shown_key["x"] < shown_value["x"]  # the key, then its value
    assert result["height"] < 2 * shown_key["height"] + 20  # one line plus padding


def test_page_fits_a_phone_screen_with_a_long_unbroken_value(phone_page, app_url, artifacts_dir):
    key = unique_key("phone")
    value = "https://example.com/" + "a-very-long-path-without-spaces/" * 6 + "?q=" + "x" * 40
    put_through_the_api(app_url, key, value)
    load_through_the_form(phone_page, app_url, key)
    expect(phone_page.locator("#cache_value")).to_have_value(value)
    phone_page.screenshot(path=artifacts_dir / "page-phone-390x844.png", full_page=True)

    widths = phone_page.evaluate(
        "({layout: innerWidth, content: document.documentElement.scrollWidth})"
    )
    assert widths["layout"] == PHONE["width"]  # the viewport meta tag works: no zoomed-out page
    assert widths["content"] <= widths["layout"]  # nothing sticks out sideways
    for field in ("#key", "#cache_value", "button[value=load]"):
        box = phone_page.locator(field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], field


def test_page_shows_visits_and_the_serving_host(page, app_url):
    page.goto(app_url + "/")
    assert page.locator("#visits").inner_text().isdigit()
    assert page.locator("#hostname").inner_text()


def test_stored_markup_is_shown_as_text(page, app_url):
    key = unique_key("markup")
    value = '</textarea>"><img src=x onerror=alert(1)><script>alert(2)</script>'
    put_through_the_api(app_url, key, value)
    page.goto(f"{app_url}/?key={quote(key)}")
    expect(page.locator("#cache_value")).to_have_value(value)
    expect(page.locator("#result-value")).to_have_text(value)
    assert page.locator("img, script").count() == 0
