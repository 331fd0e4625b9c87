"""Sweatpants: a local automation engine. Module authors need only these three names."""

from sweatpants.sdk import Module, get_browser, proxied_request
from sweatpants.version import __version__

__all__ = ["Module", "__version__", "get_browser", "proxied_request"]
