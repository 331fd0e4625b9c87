"""What module authors import: `Module`, `proxied_request`, `get_browser`."""

from typing import Any

from sweatpants.sdk.browser import get_browser
from sweatpants.sdk.module import JobContext, Module
from sweatpants.sdk.proxy import proxied_request

__all__ = [
    "JobContext",
    "Module",
    "get_browser",
    "proxied_request",
    "send_signed_callback",
    "sign_callback_token",
]


def __getattr__(name: str) -> Any:
    """The earlier engine's callback helpers, imported on first use (urllib is not cheap)."""
    if name in ("send_signed_callback", "sign_callback_token"):
        from sweatpants.sdk import callback

        return getattr(callback, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
