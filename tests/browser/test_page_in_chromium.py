"""The page in a real browser: Chromium driven by Playwright.

Debian's /usr/bin/chromium by default (no `playwright install` needed); CHROMIUM names another
binary, and CHROMIUM="" takes the browser that `playwright install chromium` downloaded.
"""

import os
import uuid

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium") or None
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the module."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (its own cookies) and page."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def save_through_the_form(page, app_url: str, key: str, value: str) -> None:
    """Type a key and a value on a fresh page and press Save, as a person would."""
    page.goto(app_url + "/")
    page.fill("#key", key)
    page.fill("#cache_value", value)
    page.click("button[value=save]")


def test_save_then_load_shows_the_value(page, app_url):
    key, value = f"browser-{uuid.uuid4().hex[:8]}", "saved from Chromium"
    save_through_the_form(page, app_url, key, value)
    expect(page.locator("#message")).to_have_text("Saved.")

    page.goto(app_url + "/")  # a fresh form: the value must come from Redis
    page.fill("#key", key)
    page.click("button[value=load]")
    expect(page.locator("#message")).to_have_text("Loaded.")
    expect(page.locator("#result-value")).to_have_text(value)


def test_page_shows_visits_and_the_serving_host(page, app_url):
    page.goto(app_url + "/")
    assert page.locator("#visits").inner_text().isdigit()
    assert page.locator("#hostname").inner_text()


def test_stored_markup_is_shown_as_text(page, app_url):
    key, value = f"markup-{uuid.uuid4().hex[:8]}", "<img src=x onerror=alert(1)>"
    save_through_the_form(page, app_url, key, value)
    expect(page.locator("#result-value")).to_have_text(value)
    assert page.locator("#result-value img").count() == 0
