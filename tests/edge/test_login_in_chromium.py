"""The page through the proxy over HTTPS, in Chromium, which trusts Pebble's root as a person's
browser trusts a CA: from its certificate store (an NSS database in a throwaway HOME), not by
ignoring certificate errors. DOMAIN resolves to 127.0.0.1 by Chromium's host resolver rules.
"""

import os
import subprocess
import uuid

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import PASSWORD, USER
from .stack import DOMAIN

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium") or None
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser(edge, tmp_path_factory):
    """Chromium whose certificate store holds Pebble's root (certutil, libnss3-tools)."""
    home = tmp_path_factory.mktemp("chromium-home")
    store = home / ".pki" / "nssdb"
    store.mkdir(parents=True)
    certutil = ["certutil", "-d", f"sql:{store}"]
    subprocess.run([*certutil, "-N", "--empty-password"], check=True)
    subprocess.run([*certutil, "-A", "-n", "Pebble test root", "-t", "C,,",
                    "-i", str(edge.root_file)], check=True)  # fmt: skip
    flags = [*CHROMIUM_FLAGS, f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=flags, env={**os.environ, "HOME": str(home)}
        )
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser context: its own cookies. Certificate errors are not ignored."""
    context = browser.new_context(ignore_https_errors=False)
    yield context
    context.close()


def log_in(page, edge, user: str, password: str) -> None:
    page.goto(edge.url("/login"))
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("#login")


def test_a_visitor_without_a_session_is_sent_to_the_login(edge, context):
    page = context.new_page()
    response = page.goto(edge.url("/"))
    assert response.ok and page.url == edge.url("/login")
    expect(page.locator("#username")).to_be_visible()


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(edge, context):
    page = context.new_page()
    log_in(page, edge, USER, "wrong-" + PASSWORD)
    expect(page.locator("#error")).to_be_visible()
    wrong_password = page.locator("#error").inner_text()
    log_in(page, edge, "nobody-" + uuid.uuid4().hex[:8], PASSWORD)
    assert page.locator("#error").inner_text() == wrong_password
    assert page.url == edge.url("/login")


def test_after_login_save_and_load_work(edge, context):
    page = context.new_page()
    log_in(page, edge, USER, PASSWORD)
    assert page.url == edge.url("/")
    key, value = f"edge-{uuid.uuid4().hex[:8]}", f"over https {uuid.uuid4().hex[:6]}"
    page.fill("#key", key)
    page.fill("#cache_value", value)
    page.click("button[value=save]")
    page.goto(edge.url("/"))
    page.fill("#key", key)
    page.click("button[value=load]")
    expect(page.locator("#cache_value")).to_have_value(value)


def test_logout_ends_the_session_on_the_server(edge, context, browser):
    page = context.new_page()
    log_in(page, edge, USER, PASSWORD)
    assert page.url == edge.url("/")
    cookies = context.cookies()
    page.click("#logout")
    assert page.url == edge.url("/login")
    page.goto(edge.url("/"))
    assert page.url == edge.url("/login")
    # The cookie as it was before logout, replayed by another client: the login is over.
    replay = browser.new_context()
    replay.add_cookies(cookies)
    try:
        assert replay.new_page().goto(edge.url("/")).url == edge.url("/login")
    finally:
        replay.close()


def test_the_session_cookie_is_secure_httponly_samesite_and_expires(edge, context):
    page = context.new_page()
    log_in(page, edge, USER, PASSWORD)
    assert page.url == edge.url("/")
    cookies = context.cookies()
    assert cookies, "no cookie after login"
    for cookie in cookies:
        assert cookie["secure"] and cookie["httpOnly"], cookie
        assert cookie["sameSite"] in ("Lax", "Strict"), cookie
        assert cookie["expires"] > 0, cookie  # not a browser-session cookie: it expires
