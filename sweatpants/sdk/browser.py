"""`get_browser`: a pooled Playwright browser context (filled in by the browser work)."""

from __future__ import annotations

from typing import Any

from sweatpants.errors import Unavailable


def get_browser(geo: str | None = None, use_proxy: bool = True) -> Any:
    raise Unavailable("get_browser is not built yet")
