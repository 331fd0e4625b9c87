"""Real Chromium for dashboard tests: Debian's /usr/bin/chromium driven by Playwright.

`playwright install` cannot download a browser on these machines, so tests launch the
system one with the flags from shared/TESTING.md (no sandbox as root, no background
networking: this machine cannot reach the hosts Chromium would keep trying).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.tools import require_tool

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def chromium_path() -> str:
    """Debian's Chromium (`playwright install` cannot download a browser here)."""
    return require_tool("chromium", "chromium")


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """Yield a Playwright `Browser` (headless system Chromium); closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleWatch:
    """Console errors and uncaught page errors seen while a page was open."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> ConsoleWatch:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        return self

    def _on_console(self, message: Any) -> None:
        if message.type in ("error", "assert"):
            self.errors.append(f"console.{message.type}: {message.text} @ {message.location}")

    def unexpected(self) -> list[str]:
        """Errors except those a test provoked on purpose (substrings in `allowed`)."""
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # sticky parts sit where they do at the top
    page.screenshot(path=str(path), full_page=full_page)
    return path
