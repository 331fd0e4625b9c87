"""Which scope each route needs (sweatpants/api/scopes.py), checked against the real app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route, WebSocketRoute

from sweatpants.api.app import create_app
from sweatpants.api.scopes import required_scope
from sweatpants.config import Settings
from sweatpants.tokens import Reason

# Routes no signed token reaches without `*`: what jobs use (the master token) and the
# dashboard's page. Anything new outside a family lands here and must be added on purpose.
EVERY_SCOPE_ONLY = {"/browser/lease", "/"}


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
        ("POST", "/proxy-fetch", False, "proxy:fetch"),
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


def _table(first_header: str) -> list[list[str]]:
    lines = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_the_documented_scope_table_is_the_code() -> None:
    rows = _table("path")
    checked = 0
    for path, reading, changing in rows:
        for name in re.findall(r"`?/([a-z-]+)", path):
            read = required_scope("GET", f"/{name}")
            write = required_scope("POST", f"/{name}")
            if name in ("events",):
                read = write = required_scope("GET", "/events", websocket=True)
            assert (read or "any valid token", write) == (reading.strip("`"), changing), path
            checked += 1
    assert checked >= 12


def test_the_documented_reasons_are_the_code() -> None:
    assert [row[0] for row in _table("reason")] == [reason.value for reason in Reason]
