"""The daemon-side browser pool with real Chromium, in process (no daemon needed)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from sweatpants.capabilities.pool import BrowserPool
from tests.support.daemon import alive

pytestmark = [pytest.mark.browser]


async def until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def run(test: Callable[[BrowserPool], Awaitable[None]], root: Path, **options: Any) -> None:
    async def main() -> None:
        pool = BrowserPool(
            size=options.pop("size", 2),
            restart_hours=options.pop("restart_hours", 6.0),
            root=root,
            **options,
        )
        try:
            await test(pool)
        finally:
            await pool.stop()
        assert pool.status()["state"] == "stopped"
        assert not any(root.iterdir()), "browser folders left behind"

    asyncio.run(main())


async def page_title(ws_endpoint: str) -> str:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.connect_over_cdp(ws_endpoint)
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto("data:text/html,<title>pooled</title>")
        title = await page.title()
        await context.close()
        await browser.close()
        return title


def test_lease_spreads_over_the_pool_and_release(tmp_path: Path) -> None:
    async def scenario(pool: BrowserPool) -> None:
        assert pool.status()["state"] == "idle" and pool.status()["alive"] == 0
        started = time.monotonic()
        first = await pool.acquire("job-a")
        print(f"\ncold lease (first browser launched): {time.monotonic() - started:.2f} s")
        await until(lambda: pool.status()["alive"] == 2, 30, "both browsers")
        second = await pool.acquire("job-b")
        assert first.browser.id != second.browser.id  # least busy first
        assert await page_title(first.public()["ws_endpoint"]) == "pooled"
        status = pool.status()
        assert status["contexts_in_use"] == 2 and status["binary"]
        pool.release(first)
        pool.release(second)
        pool.release(second)  # twice is harmless
        assert pool.status()["contexts_in_use"] == 0

    run(scenario, tmp_path / "browsers")


def test_crashed_browser_is_replaced_and_only_its_leases_hear_of_it(tmp_path: Path) -> None:
    async def scenario(pool: BrowserPool) -> None:
        victim = await pool.acquire("victim")
        await until(lambda: pool.status()["alive"] == 2, 30, "both browsers")
        bystander = await pool.acquire("bystander")
        assert victim.browser is not bystander.browser
        pid = victim.browser.process.pid
        os.kill(pid, signal.SIGKILL)
        await asyncio.wait_for(victim.died.wait(), 10)
        assert "exited unexpectedly" in victim.reason and str(pid) in victim.reason
        assert not bystander.died.is_set()
        await until(lambda: pool.status()["alive"] == 2, 30, "the replacement browser")
        status = pool.status()
        assert status["crashes"] == 1
        assert pid not in [b["pid"] for b in status["browsers"]]
        await until(lambda: not alive(pid), 10, "the dead browser to be reaped")
        assert await page_title(bystander.public()["ws_endpoint"]) == "pooled"
        pool.release(victim)
        pool.release(bystander)

    run(scenario, tmp_path / "browsers")


def test_old_browsers_are_restarted_after_their_leases_end(tmp_path: Path) -> None:
    async def scenario(pool: BrowserPool) -> None:
        lease = await pool.acquire("long-job")
        old_pid = lease.browser.process.pid
        # restart_hours of ~2 s: the leased browser drains, a fresh one replaces it.
        await until(lambda: pool.status()["draining"] == 1, 20, "the old browser to drain")
        assert alive(old_pid) and not lease.died.is_set()
        await until(lambda: pool.status()["alive"] == 1, 20, "a fresh browser")
        pool.release(lease)
        await until(lambda: not alive(old_pid), 20, "the old browser to stop")
        assert pool.status()["restarts"] >= 1

    run(scenario, tmp_path / "browsers", size=1, restart_hours=2 / 3600)


def test_idle_pool_stops_its_browsers(tmp_path: Path) -> None:
    async def scenario(pool: BrowserPool) -> None:
        lease = await pool.acquire("job")
        pid = lease.browser.process.pid
        pool.release(lease)
        await until(lambda: pool.status()["state"] == "idle", 20, "the pool to go idle")
        await until(lambda: not alive(pid), 20, "the idle browser to stop")
        again = await pool.acquire("job-2")  # starts again on demand
        assert again.browser.process.pid != pid
        pool.release(again)

    run(scenario, tmp_path / "browsers", size=1, idle_seconds=2.0)


def test_missing_binary_is_reported(tmp_path: Path) -> None:
    async def scenario(pool: BrowserPool) -> None:
        from sweatpants.errors import Unavailable

        with pytest.raises(Unavailable) as caught:
            await pool.acquire("job")
        assert "SWEATPANTS_BROWSER_PATH" in caught.value.detail
        assert pool.status()["last_error"]

    (tmp_path / "browsers").mkdir()
    run(scenario, tmp_path / "browsers", browser_path=str(tmp_path / "no-chromium"))
