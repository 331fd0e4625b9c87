"""Which scope each route needs (sweatpants/api/scopes.py), checked against the real app."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.routing import Route, WebSocketRoute

from sweatpants.api.app import create_app
from sweatpants.api.scopes import required_scope
from sweatpants.config import Settings

# Routes no signed token reaches without `*`: what jobs use (the master token) and the
# dashboard's page. Anything new outside a family lands here and must be added on purpose.
EVERY_SCOPE_ONLY = {"/proxy-fetch", "/browser/lease", "/"}


@pytest.mark.parametrize(
    ("method", "path", "websocket", "scope"),
    [
        ("GET", "/jobs", False, "jobs:read"),
        ("GET", "/jobs/abc/results/export", False, "jobs:read"),
        ("POST", "/jobs", False, "jobs:write"),
        ("DELETE", "/jobs/abc", False, "jobs:write"),
        ("POST", "/jobs/prune", False, "jobs:write"),
        ("GET", "/jobs/abc/logs/stream", True, "jobs:read"),
        ("GET", "/events", True, "jobs:read"),
        ("GET", "/modules", False, "modules:read"),
        ("PUT", "/modules/x/settings", False, "modules:write"),
        ("POST", "/modules/install-git", False, "modules:write"),
        ("POST", "/callbacks", False, "callback:write"),
        ("DELETE", "/callbacks/abc", False, "callback:write"),
        ("GET", "/callbacks", False, "callback:read"),
        ("GET", "/callbacks/wait", True, "callback:read"),
        ("GET", "/schedules", False, "schedules:read"),
        ("POST", "/schedules/x/pause", False, "schedules:write"),
        ("PATCH", "/webhooks/x", False, "webhooks:write"),
        ("GET", "/status", False, None),
        ("POST", "/proxy-fetch", False, "*"),
        ("GET", "/browser/lease", True, "*"),
        ("GET", "/something-new", False, "*"),
    ],
)
def test_route_families(method: str, path: str, websocket: bool, scope: str | None) -> None:
    assert required_scope(method, path, websocket=websocket) == scope


def test_every_route_of_the_app_belongs_to_a_family(tmp_path: Path) -> None:
    app = create_app(Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path / "data")}))
    unmapped = set()
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            if required_scope("GET", route.path, websocket=True) == "*":
                unmapped.add(route.path)
        elif isinstance(route, Route) and route.include_in_schema:
            for method in route.methods or ():
                if required_scope(method, route.path) == "*":
                    unmapped.add(route.path)
    assert unmapped <= EVERY_SCOPE_ONLY, unmapped - EVERY_SCOPE_ONLY
