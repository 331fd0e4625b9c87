"""The dashboard's schedules in a real browser (Debian's Chromium) against a real daemon: the
"Schedule…" button on a module, the form made from its manifest (a 422 shown beside its field),
the Schedules list with pause/resume/run now/delete, the next fire times, and the schedule and
attempt on a job's page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon, start_daemon, wait_for
from tests.support.modules import write_module

pytestmark = [pytest.mark.live, pytest.mark.browser]

UI_TIMEOUT = 20_000

GREETS = """
from sweatpants import Module


class Greets(Module):
    async def run(self, inputs, settings):
        yield {"hello": inputs["name"], "times": inputs["count"]}
"""

INPUTS = [
    {"id": "name", "type": "text", "required": True, "description": "Who to greet."},
    {"id": "count", "type": "integer", "default": 2, "min": 1, "max": 5},
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    data: Path = tmp_path_factory.mktemp("schedule-ui") / "data"
    write_module(data / "modules", "greets", GREETS, inputs=INPUTS)
    running = start_daemon(data)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def page(daemon: RunningDaemon) -> Iterator[tuple[Page, ConsoleWatch]]:
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(UI_TIMEOUT)
        opened = context.new_page()
        watch = ConsoleWatch().attach(opened)
        opened.goto(f"{daemon.url}/#/modules/greets")
        expect(opened.locator("#conn")).to_have_attribute("data-state", "live")
        yield opened, watch
        context.close()


def schedules_of(daemon: RunningDaemon) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = daemon.client().get("/schedules").json()["schedules"]
    return listed


def test_schedule_a_module_from_its_page(
    daemon: RunningDaemon, page: tuple[Page, ConsoleWatch]
) -> None:
    tab, watch = page
    tab.goto(f"{daemon.url}/#/modules/greets")
    tab.locator("#md-schedule").click()
    form = tab.locator("#schedule-form")
    expect(tab.get_by_role("heading", name="Schedule Greets")).to_be_visible()
    # Generated from the manifest like the run form: required mark, default, description.
    expect(form.locator('[data-field="inputs.count"] input')).to_have_value("2")
    expect(form.locator('[data-field="inputs.name"] .req')).to_be_visible()
    expect(form.locator('[data-field="inputs.name"]')).to_contain_text("Who to greet.")
    form.locator('[data-field="inputs.name"] input').fill("Ada")
    form.locator('[data-field="cron"] input').fill("0 25 * * *")  # no hour 25
    form.locator('[data-field="timezone"] input').fill("Europe/Berlin")
    watch.allowed.append("status of 422")  # the browser logs the refused request
    tab.locator("#schedule-submit").click()
    expect(form.locator('[data-field="cron"] .field-error')).to_contain_text("Bad hour")
    assert schedules_of(daemon) == []  # nothing stored
    form.locator('[data-field="cron"] input').fill("30 2 * * *")
    form.locator('[data-field="retries"] input').fill("2")
    form.locator('[data-field="name"] input').fill("nightly greeting")
    screenshot(tab, "schedule-form")
    tab.locator("#schedule-submit").click()
    expect(tab.get_by_role("heading", name="nightly greeting")).to_be_visible()
    made = wait_for(lambda: schedules_of(daemon), 10, what="the schedule")[0]
    assert made["cron"] == "30 2 * * *" and made["timezone"] == "Europe/Berlin"
    assert made["inputs"] == {"name": "Ada", "count": 2} and made["retries"] == 2
    expect(tab.locator("#schedule-preview li")).to_have_count(10)
    expect(tab.locator("#schedule-preview li").first).to_contain_text(":30 +0")
    screenshot(tab, "schedule-detail")

    # Run now from the schedule's page; the job page names the schedule and the attempt.
    tab.locator('[data-action="run"]').click()
    job_link = tab.locator("#schedule-jobs a").first
    expect(job_link).to_be_visible()
    job_link.click()
    expect(tab.locator("#job-schedule")).to_be_visible()
    expect(tab.locator("#job-meta")).to_contain_text("manual")
    expect(tab.locator("#job-attempt")).to_have_text("1 of 3")
    screenshot(tab, "job-from-schedule")
    tab.locator("#job-schedule").click()
    expect(tab.get_by_role("heading", name="nightly greeting")).to_be_visible()

    # Edit: the form comes back filled in; a change is saved.
    tab.locator('[data-action="edit"]').click()
    form = tab.locator("#schedule-form")
    expect(form.locator('[data-field="inputs.name"] input')).to_have_value("Ada")
    form.locator('[data-field="inputs.count"] input').fill("4")
    tab.locator("#schedule-submit").click()
    expect(tab.get_by_role("heading", name="nightly greeting")).to_be_visible()
    assert schedules_of(daemon)[0]["inputs"] == {"name": "Ada", "count": 4}

    # The list: next run, pause and resume, delete (the jobs stay).
    tab.get_by_role("navigation", name="Main").get_by_role("link", name="Schedules").click()
    row = tab.locator(f'#schedule-rows tr[data-id="{made["id"]}"]')
    expect(row).to_contain_text("cron 30 2 * * * (Europe/Berlin)")
    expect(row).to_contain_text("nightly greeting")
    screenshot(tab, "schedules")
    row.locator('[data-action="pause"]').click()
    expect(row).to_contain_text("paused")
    assert schedules_of(daemon)[0]["enabled"] is False
    row.locator('[data-action="resume"]').click()
    expect(row.locator('[data-action="pause"]')).to_be_visible()
    row.locator('[data-action="delete"]').click()
    tab.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(tab.locator("#schedule-rows")).to_contain_text("No schedules yet")
    assert schedules_of(daemon) == []
    jobs = daemon.client().get("/jobs", params={"schedule_id": made["id"]}).json()["jobs"]
    assert len(jobs) == 1
    assert watch.unexpected() == []
