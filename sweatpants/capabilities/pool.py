"""The daemon's pool of shared browsers, leased to job processes one context at a time.

Each pooled browser is a `ChromiumProcess` with a CDP endpoint. A job asks for a lease (via
the `/browser/lease` WebSocket: holding the socket holds the lease), connects to the leased
browser with Playwright and opens its own isolated context. The pool

- starts lazily, on the first lease, and keeps `size` browsers alive from then on (after
  `IDLE_SECONDS` with no lease it stops them again, so an idle desktop pays nothing);
- gives each lease the least busy ready browser;
- replaces a browser that dies, telling only the holders of its leases (`Lease.died`);
- restarts each browser after `restart_hours`: the old one stops taking leases, a fresh one
  is launched beside it, and the old one is stopped once its last lease is released;
- backs off when launches keep failing, and reports the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweatpants.capabilities.chromium import ChromiumProcess, sweep_orphans
from sweatpants.errors import Unavailable
from sweatpants.web.binary import find_browser

logger = logging.getLogger("sweatpants.browser")

IDLE_SECONDS = 15 * 60.0
LEASE_TIMEOUT = 60.0
MAX_BACKOFF = 60.0


@dataclass
class PooledBrowser:
    """A browser of the pool and the leases it serves."""

    id: str
    process: ChromiumProcess
    leases: dict[str, Lease] = field(default_factory=dict)
    draining: bool = False
    retiring: bool = False
    served: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pid": self.process.pid,
            "age_seconds": round(time.monotonic() - self.process.started_at, 1),
            "contexts": len(self.leases),
            "jobs": sorted({lease.job_id for lease in self.leases.values()}),
            "draining": self.draining,
            "leases_served": self.served,
        }


@dataclass
class Lease:
    """One job's claim on one browser, for one context."""

    id: str
    job_id: str
    browser: PooledBrowser
    acquired_at: float = field(default_factory=time.monotonic)
    died: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = ""

    def public(self) -> dict[str, Any]:
        """What the job needs to connect: the CDP endpoint of its browser."""
        return {
            "lease_id": self.id,
            "browser_id": self.browser.id,
            "pid": self.browser.process.pid,
            "ws_endpoint": self.browser.process.ws_endpoint,
        }


class BrowserPool:
    """`size` shared browsers under `root` (their profiles and logs), restarted periodically."""

    def __init__(
        self,
        *,
        size: int,
        restart_hours: float,
        root: Path,
        browser_path: str = "",
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.size = size
        self.restart_seconds = restart_hours * 3600.0
        self.root = root
        self.browser_path = browser_path
        self.idle_seconds = idle_seconds
        self._browsers: list[PooledBrowser] = []
        self._processes: set[ChromiumProcess] = set()  # every launched, not yet stopped
        self._launching = 0
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._numbers = itertools.count(1)
        self._binary: tuple[str, str] | None = None
        self._stopping = False
        self._started = False
        self._failures = 0
        self._last_error: str | None = None
        self._next_launch_at = 0.0
        self._last_activity = time.monotonic()
        self._crashes = 0
        self._restarts = 0
        self._leases_served = 0

    # -- leasing -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lease(self, job_id: str, timeout: float = LEASE_TIMEOUT) -> AsyncIterator[Lease]:
        """Hold a lease for the duration of the block (the WebSocket handler's lifetime)."""
        held = await self.acquire(job_id, timeout)
        try:
            yield held
        finally:
            self.release(held)

    async def acquire(self, job_id: str, timeout: float = LEASE_TIMEOUT) -> Lease:
        """The least busy ready browser's lease; waits for a launch, up to `timeout`."""
        if self._stopping:
            raise Unavailable("the daemon is stopping; no browser can be leased")
        self._binary_or_raise()
        self._start()
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                ready = [b for b in self._browsers if not b.draining and b.process.alive]
                if ready:
                    browser = min(ready, key=lambda b: len(b.leases))
                    lease = Lease(id=uuid.uuid4().hex, job_id=job_id, browser=browser)
                    browser.leases[lease.id] = lease
                    browser.served += 1
                    self._leases_served += 1
                    self._last_activity = time.monotonic()
                    return lease
                if self._stopping:
                    raise Unavailable("the daemon is stopping; no browser can be leased")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable(
                        f"no pooled browser became ready within {timeout:g} s"
                        + (f"; last launch error: {self._last_error}" if self._last_error else "")
                    )
                self._fill()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, 1.0))

    def release(self, lease: Lease) -> None:
        """Give a lease back; a draining browser with no leases left is stopped."""
        browser = lease.browser
        if browser.leases.pop(lease.id, None) is None:
            return
        self._last_activity = time.monotonic()
        if browser.draining and not browser.leases:
            self._retire(browser)

    # -- state -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Pool state for `/status` and the dashboard."""
        live = [b for b in self._browsers if b.process.alive]
        binary = self._binary
        return {
            "pool_size": self.size,
            "restart_hours": self.restart_seconds / 3600.0,
            "state": "stopped" if self._stopping else "running" if self._started else "idle",
            "alive": sum(1 for b in live if not b.draining),
            "starting": self._launching,
            "draining": sum(1 for b in live if b.draining),
            "contexts_in_use": sum(len(b.leases) for b in self._browsers),
            "leases_served": self._leases_served,
            "crashes": self._crashes,
            "restarts": self._restarts,
            "binary": binary[0] if binary else None,
            "binary_source": binary[1] if binary else None,
            "last_error": self._last_error,
            "browsers": [b.describe() for b in self._browsers],
        }

    async def stop(self) -> None:
        """Stop every browser and background task; later leases are refused."""
        self._stopping = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        browsers, self._browsers = self._browsers, []
        for browser in browsers:
            browser.retiring = True
            self._mark_died(browser, "the daemon is stopping")
        processes, self._processes = list(self._processes), set()
        await asyncio.gather(*(p.stop() for p in processes), return_exceptions=True)
        async with self._changed:
            self._changed.notify_all()

    # -- internals ---------------------------------------------------------------------

    def _binary_or_raise(self) -> tuple[str, str]:
        if self._binary is None:
            try:
                self._binary = find_browser(self.browser_path)
            except Unavailable as exc:
                self._last_error = exc.detail
                raise
        return self._binary

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self._last_activity = time.monotonic()
        swept = sweep_orphans(self.root)
        if swept:
            logger.info("removed %d browser folder(s) left by an earlier daemon", swept)
        self._start_task(self._maintain())
        self._fill()

    def _start_task(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fill(self) -> None:
        """Launch browsers until `size` non-draining ones are alive or starting."""
        if self._stopping or not self._started:
            return
        if time.monotonic() < self._next_launch_at:
            return
        serving = sum(1 for b in self._browsers if not b.draining and b.process.alive)
        for _ in range(self.size - serving - self._launching):
            self._launching += 1
            self._start_task(self._launch())

    async def _launch(self) -> None:
        name = f"b{next(self._numbers)}"
        binary, _ = self._binary_or_raise()
        started = time.monotonic()
        try:
            process = await ChromiumProcess.launch(binary, self.root, name, self._processes)
        except asyncio.CancelledError:
            self._launching -= 1
            raise
        except Exception as exc:
            self._launching -= 1
            self._failures += 1
            detail = exc.detail if isinstance(exc, Unavailable) else f"{type(exc).__name__}: {exc}"
            self._last_error = detail
            backoff = min(MAX_BACKOFF, 0.5 * 2 ** min(self._failures, 8))
            self._next_launch_at = time.monotonic() + backoff
            logger.error("browser %s failed to start (%s); retry in %.1f s", name, detail, backoff)
            self._start_task(self._refill_later(backoff))
        else:
            self._launching -= 1
            self._failures = 0
            self._last_error = None
            browser = PooledBrowser(id=name, process=process)
            self._browsers.append(browser)
            logger.info(
                "browser %s started (pid %d) in %.0f ms",
                name,
                process.pid,
                (time.monotonic() - started) * 1000,
            )
            self._start_task(self._watch(browser))
        async with self._changed:
            self._changed.notify_all()

    async def _refill_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._fill()

    async def _watch(self, browser: PooledBrowser) -> None:
        code = await browser.process.process.wait()
        if browser.retiring or self._stopping:
            return
        self._crashes += 1
        reason = (
            f"the pooled browser {browser.id} (pid {browser.process.pid}) exited unexpectedly "
            f"(code {code}); the pool has started a replacement"
        )
        logger.warning("%s; %d lease(s) affected", reason, len(browser.leases))
        self._mark_died(browser, reason)
        if browser in self._browsers:
            self._browsers.remove(browser)
        await self._stop_process(browser.process, grace=0.5)
        self._fill()
        async with self._changed:
            self._changed.notify_all()

    def _mark_died(self, browser: PooledBrowser, reason: str) -> None:
        for lease in browser.leases.values():
            lease.reason = reason
            lease.died.set()

    def _retire(self, browser: PooledBrowser) -> None:
        if browser.retiring:
            return
        browser.retiring = True
        if browser in self._browsers:
            self._browsers.remove(browser)
        self._start_task(self._stop_process(browser.process))

    async def _stop_process(self, process: ChromiumProcess, grace: float = 3.0) -> None:
        await process.stop(grace)
        self._processes.discard(process)

    async def _maintain(self) -> None:
        interval = max(0.5, min(30.0, self.restart_seconds / 4, self.idle_seconds / 4))
        while not self._stopping:
            await asyncio.sleep(interval)
            now = time.monotonic()
            in_use = any(b.leases for b in self._browsers)
            if not in_use and now - self._last_activity > self.idle_seconds:
                self._go_idle()
                return
            for browser in list(self._browsers):
                age = now - browser.process.started_at
                if not browser.draining and age > self.restart_seconds:
                    browser.draining = True
                    self._restarts += 1
                    logger.info("browser %s is %.0f s old: restarting it", browser.id, age)
                    if not browser.leases:
                        self._retire(browser)
            self._fill()

    def _go_idle(self) -> None:
        logger.info("no browser lease for %.0f s: stopping the pool's browsers", self.idle_seconds)
        for browser in list(self._browsers):
            self._retire(browser)
        self._started = False
