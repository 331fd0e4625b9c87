"""What module authors import: `Module`, `proxied_request`, `get_browser`."""

from sweatpants.sdk.browser import get_browser
from sweatpants.sdk.module import JobContext, Module
from sweatpants.sdk.proxy import proxied_request

__all__ = ["JobContext", "Module", "get_browser", "proxied_request"]
