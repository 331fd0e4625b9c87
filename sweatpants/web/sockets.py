"""WebSockets to the daemon go straight to it, on every `websockets` release we accept.

From websockets 15 on, `connect` routes through the system's proxy settings (`HTTP_PROXY`,
`HTTPS_PROXY`, ...) unless it is given `proxy=None`, so a user with a proxy configured for the
web would have the CLI's log stream and a job's browser lease sent to that proxy instead of the
daemon on 127.0.0.1. Before 15 it never used a proxy and takes no `proxy` argument (passing one
is a TypeError deep in `socket.create_connection`). `direct()` gives the keyword arguments that
mean "no proxy" for whichever release is installed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


def direct(connect: Callable[..., Any]) -> dict[str, Any]:
    """`{"proxy": None}` where `connect` takes a proxy (websockets 15+), else nothing."""
    try:
        parameters = inspect.signature(connect).parameters
    except (TypeError, ValueError):  # no signature to read: assume the older, proxy-less one
        return {}
    return {"proxy": None} if "proxy" in parameters else {}
