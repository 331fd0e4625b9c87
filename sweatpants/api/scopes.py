"""Which scope a signed user token needs for a request: one row per family of routes.

Decided by the path's first segment and whether the method only reads (GET, HEAD, OPTIONS
and every WebSocket, which only streams out), so routes added later under a family's prefix
are covered without touching this table. A path outside every family needs `*`: a token
is refused what nobody thought of granting. The master token needs no scope (it has all).
"""

from __future__ import annotations

from typing import NamedTuple


class Family(NamedTuple):
    """The scopes that read and that change one family of routes."""

    read: str
    write: str


FAMILIES: dict[str, Family] = {
    "jobs": Family("jobs:read", "jobs:write"),
    "events": Family("jobs:read", "jobs:read"),  # WS /events: job state changes
    "modules": Family("modules:read", "modules:write"),
    "capabilities": Family("modules:read", "modules:read"),  # what the modules may use
    "callbacks": Family("callback:read", "callback:write"),
    "proxy-fetch": Family("proxy:fetch", "proxy:fetch"),  # the earlier engine's name for it
    "schedules": Family("schedules:read", "schedules:write"),
    "stats": Family("jobs:read", "jobs:read"),  # counts of jobs per day and state
    "webhooks": Family("webhooks:read", "webhooks:write"),
    "deliveries": Family("webhooks:read", "webhooks:write"),  # the webhooks' delivery log
}
# GET /status and /metrics: health only, any valid token reads them.
ANY_VALID_TOKEN = ("status", "metrics")
EVERY_SCOPE = "*"
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def required_scope(method: str, path: str, *, websocket: bool = False) -> str | None:
    """The scope a request needs (None: any valid token will do)."""
    segment = path.lstrip("/").split("/", 1)[0]
    if segment in ANY_VALID_TOKEN and (websocket or method in READING_METHODS):
        return None
    family = FAMILIES.get(segment)
    if family is None:
        return EVERY_SCOPE
    return family.read if websocket or method in READING_METHODS else family.write
