"""`get_browser`: an isolated Playwright `BrowserContext` from the daemon's browser pool.

Inside a job, the context lives in one of the daemon's shared browsers: the job leases a
browser (`sweatpants.sdk.lease`), connects to it over CDP and opens a fresh context
with its own cookies and storage, routed through the proxy unless `use_proxy=False` (a sticky
session per context when a rotation pattern is configured, `{geo}` filled from `geo`). The
context is closed when the block exits, also on errors and cancellation; if the job process is
killed, Chromium disposes the context when the job's connection drops and the daemon reclaims
the lease when its socket closes. If the browser dies under the block, the block raises
`BrowserCrashed` saying so; other jobs are unaffected and the pool replaces the browser.

Outside a daemon (no `SWEATPANTS_URL`: a script or a module's own test) it launches a private
browser for the block. Playwright is imported on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sweatpants.errors import Unavailable
from sweatpants.sdk.errors import BrowserCrashed
from sweatpants.sdk.runtime import Services, current
from sweatpants.web.headers import locale_for
from sweatpants.web.proxy import ProxyChoice, ProxyConfig

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright

    from sweatpants.sdk.lease import BrowserLease

logger = logging.getLogger("sweatpants.browser")

VIEWPORT = {"width": 1920, "height": 1080}  # what the earlier engine gave modules
CONNECT_ATTEMPTS = 3
DEATH_NOTICE_WAIT = 1.5


def context_proxy(services: Services, geo: str | None, use_proxy: bool) -> ProxyChoice:
    """The proxy of one context: sticky for its lifetime when a rotation pattern exists."""
    if not use_proxy:
        return ProxyChoice("direct", note="use_proxy=False")
    config = ProxyConfig(services.proxy_url, services.proxy_rotation_url)
    session = f"ctx{secrets.token_hex(6)}" if services.proxy_rotation_url else None
    return config.choose(session, geo)


def user_agent(version: str) -> str:
    """A regular (not "HeadlessChrome") user agent for the real engine version and OS."""
    major = version.split(".", 1)[0] or "120"
    if sys.platform == "darwin":
        platform = "Macintosh; Intel Mac OS X 10_15_7"
    elif sys.platform == "win32":
        platform = "Windows NT 10.0; Win64; x64"
    else:
        platform = "X11; Linux x86_64"
    return (
        f"Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def context_options(browser: Browser, choice: ProxyChoice, geo: str | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "viewport": dict(VIEWPORT),
        "user_agent": user_agent(browser.version),
        "locale": locale_for(geo) or "en-US",
    }
    proxy = choice.playwright_proxy()
    if proxy is not None:
        options["proxy"] = proxy
    return options


@contextlib.asynccontextmanager
async def get_browser(
    geo: str | None = None, use_proxy: bool = True
) -> AsyncIterator[BrowserContext]:
    """`async with get_browser() as context:` → a fresh Playwright `BrowserContext`."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        raise Unavailable("get_browser needs Playwright: pip install playwright") from None
    runtime = current()
    services = runtime.services
    choice = context_proxy(services, geo, use_proxy)
    if use_proxy and choice.note:
        direct = "; the browser goes direct" if not choice.url else ""
        logger.warning("get_browser: %s%s", choice.note, direct)
    async with contextlib.AsyncExitStack() as stack:
        playwright = await stack.enter_async_context(async_playwright())
        lease: BrowserLease | None = None
        if services.daemon_url:
            lease, browser = await _leased_browser(stack, playwright, services, runtime.job_id)
        else:
            browser = await _private_browser(playwright, services)
        stack.push_async_callback(_quietly, browser.close())
        context = await browser.new_context(**context_options(browser, choice, geo))
        try:
            yield context
        except Exception as exc:
            if lease is not None and await _browser_gone(lease, browser):
                reason = lease.reason or (
                    f"the pooled browser {lease.browser_id} disconnected while this job used it"
                )
                raise BrowserCrashed(
                    f"{reason}. Other jobs are unaffected; open a new get_browser() block to retry."
                ) from exc
            raise
        finally:
            if browser.is_connected():
                await _quietly(context.close())


async def _browser_gone(lease: BrowserLease, browser: Browser) -> bool:
    """Did the leased browser die? The daemon's notice may trail Playwright's error a little."""
    if lease.died.is_set() or not browser.is_connected():
        return True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(lease.died.wait(), DEATH_NOTICE_WAIT)
    return lease.died.is_set() or not browser.is_connected()


async def _leased_browser(
    stack: contextlib.AsyncExitStack, playwright: Playwright, services: Services, job_id: str
) -> tuple[BrowserLease, Browser]:
    from playwright.async_api import Error as PlaywrightError

    from sweatpants.sdk.lease import BrowserLease

    failure = ""
    for _attempt in range(CONNECT_ATTEMPTS):
        lease = await stack.enter_async_context(BrowserLease(services, job_id))
        try:
            browser = await playwright.chromium.connect_over_cdp(lease.ws_endpoint, timeout=30_000)
        except PlaywrightError as exc:
            # The leased browser died between lease and connect: let go and lease another.
            failure = str(exc).splitlines()[0]
            await lease.__aexit__(None, None, None)
            continue
        return lease, browser
    raise Unavailable(f"could not connect to a pooled browser: {failure}")


async def _private_browser(playwright: Playwright, services: Services) -> Browser:
    from sweatpants.web.binary import BASE_FLAGS, find_browser

    binary, _ = find_browser(services.browser_path)
    args = [flag for flag in BASE_FLAGS if not flag.startswith(("--remote-", "--headless"))]
    return await playwright.chromium.launch(
        executable_path=binary, headless=True, args=args, chromium_sandbox=False
    )


async def _quietly(awaitable: Any) -> None:
    with contextlib.suppress(Exception):
        await awaitable
