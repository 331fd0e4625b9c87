"""/docs and /redoc in real Chromium, with every request to another host blocked.

The pages must render from the daemon alone (no CDN, no web fonts, no online validator), and
Swagger UI's "Authorize" + "Try it out" must reach a daemon that requires a token.
Screenshots land in tests/artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon

pytestmark = [pytest.mark.live, pytest.mark.browser]

TOKEN = "swagger-try-it-out-token"
UI_TIMEOUT = 20_000  # ms
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
NETWORK_SCHEMES = {"http", "https", "ws", "wss", "ftp"}


def is_foreign(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in NETWORK_SCHEMES and parts.hostname not in LOCAL_HOSTS


class Offline:
    """Routes every request of a browser context: loopback goes through, the rest is aborted
    and remembered. Also remembers what the pages asked for that the browser refused itself
    (a Content-Security-Policy refusal never reaches the network, so never the route)."""

    def __init__(self, context: BrowserContext) -> None:
        self.foreign: list[str] = []  # requests to other hosts that reached the network
        self.local: list[str] = []
        self.asked: list[str] = []  # every URL to another host a page asked for
        self.failures: dict[str, str] = {}
        context.route("**/*", self._route)
        context.on("request", self._asked)
        context.on("requestfailed", self._failed)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if is_foreign(url):
            self.foreign.append(url)
            route.abort()
            return
        self.local.append(url)
        route.continue_()

    def _asked(self, request: Any) -> None:
        if is_foreign(request.url):
            self.asked.append(request.url)

    def _failed(self, request: Any) -> None:
        self.failures[request.url] = request.failure or ""


@pytest.fixture
def token_daemon(make_daemon: Callable[..., RunningDaemon]) -> RunningDaemon:
    return make_daemon(token=TOKEN)


@pytest.fixture
def context() -> Iterator[BrowserContext]:
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


def test_swagger_ui_renders_offline_and_tries_get_jobs_with_the_token(
    token_daemon: RunningDaemon, context: BrowserContext
) -> None:
    offline = Offline(context)
    page = context.new_page()
    watch = ConsoleWatch().attach(page)
    sent: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda request: (
            sent.append((request.url, request.headers.get("authorization")))
            if urlsplit(request.url).path == "/jobs"
            else None
        ),
    )

    page.goto(f"{token_daemon.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=UI_TIMEOUT)
    assert page.locator(".opblock").count() >= 15  # every operation is listed

    jobs = page.locator("#operations-default-list_jobs_jobs_get")
    jobs.locator(".opblock-summary").first.click()
    jobs.get_by_role("button", name="Try it out").click()

    # Without the token the daemon refuses, and Swagger UI shows it.
    watch.allowed.append("401")  # the browser logs the refused request
    jobs.get_by_role("button", name="Execute").click()
    status = jobs.locator(".live-responses-table .response .response-col_status").first
    expect(status).to_have_text("401", timeout=UI_TIMEOUT)

    page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_be_visible(timeout=UI_TIMEOUT)
    dialog.get_by_label("auth-bearer-value").fill(TOKEN)
    dialog.get_by_role("button", name="Apply credentials").click()  # labelled "Authorize"
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden(timeout=UI_TIMEOUT)

    jobs.get_by_role("button", name="Execute").click()
    expect(status).to_have_text("200", timeout=UI_TIMEOUT)
    expect(
        jobs.locator(".live-responses-table .response .response-col_description").first
    ).to_contain_text('"jobs"', timeout=UI_TIMEOUT)
    screenshot(page, "api-docs-swagger", full_page=False)

    assert sent[-1][1] == f"Bearer {TOKEN}", sent
    assert sent[0][1] is None, sent  # before "Authorize", nothing was sent
    assert offline.foreign == [] and offline.asked == [], (offline.foreign, offline.asked)
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in offline.local)
    assert any(url.endswith("/openapi.json") for url in offline.local)
    assert watch.unexpected() == []


def test_redoc_renders_offline(token_daemon: RunningDaemon, context: BrowserContext) -> None:
    offline = Offline(context)
    page = context.new_page()
    watch = ConsoleWatch().attach(page)

    page.goto(f"{token_daemon.url}/redoc")
    content = page.locator(".api-content")
    expect(content).to_be_visible(timeout=UI_TIMEOUT)
    expect(content.get_by_text("List Jobs", exact=True).first).to_be_attached(timeout=UI_TIMEOUT)
    expect(page.get_by_text("BearerToken").first).to_be_attached(timeout=UI_TIMEOUT)
    screenshot(page, "api-docs-redoc", full_page=False)

    assert offline.foreign == [], offline.foreign
    assert any(url.endswith("/docs/assets/redoc.standalone.js") for url in offline.local)
    # ReDoc's sidebar credit asks for a logo from its CDN (no option turns it off); the
    # page's policy makes the browser refuse it before any request leaves, and the credit
    # shows as text. Nothing else is asked for.
    assert set(offline.asked) <= {REDOC_LOGO}, offline.asked
    for url in offline.asked:
        assert offline.failures.get(url) in ("csp", "net::ERR_BLOCKED_BY_CSP"), offline.failures
    refused = [e for e in watch.errors if "Content Security Policy" in e]
    assert all(REDOC_LOGO in e for e in refused), refused
    watch.allowed.append(REDOC_LOGO)
    expect(page.get_by_text("API docs by Redocly")).to_be_visible()
    assert watch.unexpected() == []
