"""WCAG 2.1 AA in Chromium: axe-core on every view of the dashboard, in light and dark.

axe-core (MPL-2.0, vendored in tests/support/axe/ from the npm registry) is injected into each
view once it has loaded what it shows, and asked for the WCAG 2.0/2.1 A and AA rules. A view
passes with no serious or critical violation. The daemon holds a completed, a failed and a
running job and a module with every kind of input, so each view shows its real content:
status badges, tables, log lines with their levels, progress, charts. Views other sessions add
(every route of ui/js/router.js without a parameter, and the new-schedule form) are checked
too once the dashboard has them.

Keyboard use is checked on the run form: Tab reaches a field, Enter submits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = [pytest.mark.live, pytest.mark.browser]

AXE = Path(__file__).resolve().parent / "support" / "axe" / "axe.min.js"
ROUTER = Path(__file__).resolve().parent.parent / "ui" / "js" / "router.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
UI_TIMEOUT = 20_000  # ms

FORMS = """
from sweatpants import Module


class Forms(Module):
    async def run(self, inputs, settings):
        await self.log("starting", "INFO")
        await self.log("a debug line", "DEBUG")
        await self.log("careful now", "WARNING")
        for i in range(25):
            yield {"n": i, "name": inputs["name"], "nested": {"ok": True}}
        await self.progress(25, 25)
        await self.log("an error line, for its colour", "ERROR")
"""

FORMS_INPUTS: list[dict[str, Any]] = [
    {"id": "name", "type": "text", "required": True, "description": "Who."},
    {"id": "count", "type": "integer", "default": 5, "description": "How many."},
    {"id": "ratio", "type": "number", "default": 0.5},
    {"id": "loud", "type": "boolean", "default": False, "description": "Shout."},
    {"id": "extra", "type": "json", "description": "Anything else."},
]

FAILS = """
from sweatpants import Module


class Fails(Module):
    async def run(self, inputs, settings):
        await self.log("about to fail")
        yield {"partial": 1}
        raise ValueError("upstream returned malformed JSON")
"""

WAITS = """
import asyncio
from sweatpants import Module


class Waits(Module):
    async def run(self, inputs, settings):
        for i in range(1200):  # at most 2 minutes
            if self.is_cancelled:
                return
            await self.log(f"tick {i}")
            await self.progress(i, 1200)
            await asyncio.sleep(0.1)
        yield {"done": True}
"""


class Site:
    def __init__(self, daemon: RunningDaemon, completed: str, failed: str, running: str) -> None:
        self.daemon = daemon
        self.completed = completed
        self.failed = failed
        self.running = running


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("a11y") / "data"
    modules = data_dir / "modules"
    write_module(modules, "forms", FORMS, inputs=FORMS_INPUTS, capabilities=["proxy", "browser"])
    write_module(modules, "fails", FAILS)
    write_module(modules, "waits", WAITS)
    daemon = RunningDaemon(data_dir).start()
    try:
        completed = daemon.start_job("forms", inputs={"name": "Ada"})
        failed = daemon.start_job("fails")
        assert daemon.wait_job(completed)["status"] == "completed"
        assert daemon.wait_job(failed)["status"] == "failed"
        running = daemon.start_job("waits")
        daemon.wait_job(running, ("running",))
        yield Site(daemon, completed, failed, running)
    finally:
        daemon.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


def views(site: Site) -> list[tuple[str, str, str]]:
    """(name, route, a selector that is there once the view shows its content)."""
    found = [
        ("overview", "#/overview", "#jobs-per-day[data-drawn]"),
        ("modules", "#/modules", '[data-module="forms"]'),
        ("module", "#/modules/forms", "#run-history[data-drawn]"),
        ("run-form", "#/run/forms", "#run-form"),
        ("jobs", "#/jobs", "table tbody tr"),
        ("jobs-failed", "#/jobs?status=failed", "table tbody tr"),
        ("proxy", "#/proxy", "h1"),
    ]
    for kind, job_id in (
        ("completed", site.completed),
        ("failed", site.failed),
        ("running", site.running),
    ):
        found.append((f"job-{kind}", f"#/jobs/{job_id}", "#job-timeline[data-drawn]"))
    # Pages other sessions add (schedules, settings with webhooks, ...): every route of
    # ui/js/router.js without a parameter, and the new-schedule form, once they exist.
    router = ROUTER.read_text()
    covered = {route.split("?")[0] for _, route, _ in found}
    for name in re.findall(r"pattern: /\^\\/([a-z][a-z-]*)\$/", router):
        if f"#/{name}" not in covered:
            found.append((name, f"#/{name}", "h1"))
    if "schedules\\/new" in router:
        found.append(("schedule-form", "#/schedules/new/forms", "form"))
    return found


def axe(page: Page) -> list[dict[str, Any]]:
    """The serious and critical WCAG A/AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags } });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
            }));
        }""",
        TAGS,
    )
    return [v for v in found if v["impact"] in BLOCKING]


def describe(problems: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in problems.items():
        for v in violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}): {v['help']}")
            for node in v["nodes"][:6]:
                lines.append(f"    {node['target']}: {node['summary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_view_has_no_serious_or_critical_violation(
    site: Site, chromium: Any, theme: str
) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme=theme)
    context.set_default_timeout(UI_TIMEOUT)
    problems: dict[str, list[dict[str, Any]]] = {}
    checked: list[str] = []
    try:
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        for name, route, ready in views(site):
            page.goto(f"{site.daemon.url}/{route}")
            expect(page.locator(ready).first).to_be_visible()
            expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            if name.startswith("job-"):
                for tab in ("logs", "results", "details"):
                    page.locator(f"#tab-{tab}").click()
                    shown = {"logs": ".log-row", "results": "table, .empty", "details": "h3"}[tab]
                    expect(page.locator(f"#panel-{tab}").locator(shown).first).to_be_visible()
                    found = axe(page)
                    checked.append(f"{name}/{tab}")
                    if found:
                        problems[f"{theme} {name}/{tab}"] = found
            else:
                found = axe(page)
                checked.append(name)
                if found:
                    problems[f"{theme} {name}"] = found
            if name in ("overview", "job-completed", "module"):
                screenshot(page, f"a11y-{theme}-{name}")
        assert watch.unexpected() == []
    finally:
        context.close()
    assert len(checked) >= 16, checked
    assert not problems, "axe-core found:\n" + describe(problems)


def test_small_screens_and_the_keyboard(site: Site, chromium: Any) -> None:
    """At 800x600 the views stay usable; the run form is reached and sent by keyboard."""
    context = chromium.new_context(viewport={"width": 800, "height": 600}, color_scheme="light")
    context.set_default_timeout(UI_TIMEOUT)
    try:
        page = context.new_page()
        page.goto(f"{site.daemon.url}/#/overview")
        expect(page.locator("#jobs-per-day[data-drawn]")).to_be_visible()
        screenshot(page, "a11y-800x600-overview", full_page=False)
        assert axe(page) == []
        page.goto(f"{site.daemon.url}/#/run/forms")
        name = page.locator('[data-field="inputs.name"] input')
        expect(name).to_be_visible()
        page.keyboard.press("Tab")  # from the page: the skip link first
        for _ in range(40):  # Tab until the name field has the focus
            if page.evaluate(
                "document.activeElement?.closest('[data-field=\"inputs.name\"]') !== null"
            ):
                break
            page.keyboard.press("Tab")
        expect(name).to_be_focused()
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", "the focused field shows no focus ring"
        page.keyboard.type("Keyboard")
        page.keyboard.press("Enter")
        page.wait_for_url("**/#/jobs/*")
        job_id = page.url.rsplit("/", 1)[1]
        assert site.daemon.wait_job(job_id)["status"] == "completed"
        assert json.dumps(site.daemon.job(job_id)["inputs"]["name"]) == '"Keyboard"'
        expect(page.locator("#job-timeline[data-drawn]")).to_be_visible()
        screenshot(page, "a11y-800x600-job", full_page=False)
    finally:
        context.close()
