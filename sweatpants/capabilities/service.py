"""The daemon's capabilities, built once per engine: the proxy settings and the browser pool."""

from __future__ import annotations

from typing import Any

from sweatpants.capabilities.pool import BrowserPool
from sweatpants.config import Settings
from sweatpants.web.proxy import ProxyConfig


class Capabilities:
    """What `/proxy-fetch`, `/browser/lease`, `/capabilities` and `/status` work with."""

    def __init__(self, settings: Settings) -> None:
        self.proxy = ProxyConfig(settings.proxy_url, settings.proxy_rotation_url)
        self.pool = BrowserPool(
            size=settings.browser_pool_size,
            restart_hours=settings.browser_restart_hours,
            root=settings.data_dir / "browsers",
            browser_path=settings.browser_path,
        )

    def proxy_status(self) -> dict[str, Any]:
        return self.proxy.describe()

    def browser_status(self) -> dict[str, Any]:
        return self.pool.status()

    def describe(self) -> dict[str, Any]:
        return {"proxy": self.proxy_status(), "browser": self.browser_status()}

    async def stop(self) -> None:
        await self.pool.stop()
