"""`proxied_request`: HTTP through the engine's rotating proxy (filled in by the proxy work)."""

from __future__ import annotations

from typing import Any

from sweatpants.errors import Unavailable


async def proxied_request(method: str, url: str, **kwargs: Any) -> Any:
    raise Unavailable("proxied_request is not built yet")
