"""Debian's chromium driven by Playwright, and pages that may load nothing but the service under test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def launch_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def service_page(browser: Any, url: str) -> Iterator[Any]:
    """A fresh page that may load nothing but `url` (any outside request fails the test), nor log an error."""
    context = browser.new_context(viewport={"width": 1100, "height": 1000}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    outside: list[str] = []
    errors: list[str] = []

    def only_the_service(route: Any) -> None:
        if route.request.url.startswith(url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_service)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    # A test that makes a request fail on purpose names the console line the browser logs for it.
    page.expected_errors = []
    try:
        yield page
    finally:
        context.close()
    assert not outside, f"the page requested outside assets: {outside}"
    errors = [e for e in errors if not any(x in e for x in page.expected_errors)]
    assert not errors, f"the page logged errors: {errors}"
