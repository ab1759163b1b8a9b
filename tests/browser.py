"""Headless Chromium for browser tests: Debian's `/usr/bin/chromium` driven by Playwright (never a downloaded browser).

    from browser import chromium_browser, open_page
    with chromium_browser() as browser:                # or the `chromium` fixture of conftest.py
        page, problems = open_page(browser, "file:///.../index.html")
        assert not problems, problems

Where Chromium is missing the tests skip with the reason, except in CI (`CI` set), where they fail.
"""
import os, shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LLC_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
INSTALL = "apt-get update && apt-get install -y chromium (and pip install playwright; never `playwright install`)"


def require_chromium():
    "Skip (outside CI) or fail (in CI) unless Chromium and Playwright are installed."
    missing = [what for what, ok in [(CHROMIUM, Path(CHROMIUM).exists() or shutil.which(CHROMIUM)),
                                      ("playwright", _has_playwright())] if not ok]
    if missing:
        msg = f"browser test needs {' and '.join(missing)}: {INSTALL}"
        if os.environ.get("CI"): pytest.fail(msg + " (CI is set: not skipping)")
        pytest.skip(msg)


def _has_playwright():
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return False
    return True


@contextmanager
def chromium_browser(**launch):
    "A headless Chromium (Playwright `Browser`), closed on exit."
    require_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **launch)
        try: yield browser
        finally: browser.close()


def _remote(url: str) -> bool:
    "A request that would leave this machine (loopback servers of the tests are local)."
    return url.startswith(("http://", "https://")) and not url.split("://", 1)[1].startswith(("127.0.0.1", "localhost", "[::1]"))


def open_page(browser, url: str, offline: bool = True, screenshot: Path | None = None, **context):
    """Open `url` in a fresh context; returns (page, problems). `problems` lists console errors, uncaught page errors,
    failed requests, images that did not load and, with `offline`, every request that would leave the machine
    (aborted). Keep the page's context alive as long as you use `page`; it closes with the browser."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    problems = []
    page.on("console", lambda m: m.type == "error" and problems.append(f"console error: {m.text} ({m.location.get('url', '')})"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

    def failed(request):
        if not (offline and _remote(request.url)):         # those are reported (and aborted) by `block`
            problems.append(f"request failed: {request.url[:120]} ({request.failure})")

    def block(route):
        problems.append(f"network request: {route.request.url}")
        route.abort()

    page.on("requestfailed", failed)
    if offline: page.route(_remote, block)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    broken = page.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0 || !i.complete)"
                           ".map(i => i.currentSrc || i.src).map(s => s.slice(0, 120))")
    problems += [f"image not loaded: {s}" for s in broken]
    if screenshot: page.screenshot(path=str(screenshot), full_page=True)
    return page, problems
