"""The jobs list in a real browser (Debian's Chromium via Playwright) against a real daemon:
the search box narrows the list, the filter lives in the URL (a reload and a shared link
show the same list), filters show as chips that remove themselves, bad filters say which
field is wrong, and selected running jobs stop together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = [pytest.mark.live, pytest.mark.browser]

UI_TIMEOUT = 20_000

ECHO = """
from sweatpants import Module

class Echo(Module):
    async def run(self, inputs, settings):
        if inputs["word"] == "explode":
            raise RuntimeError("upstream quota exceeded")
        yield {"word": inputs["word"]}
"""

NAPPER = """
import asyncio
from sweatpants import Module

class Napper(Module):
    async def run(self, inputs, settings):
        for _ in range(1200):  # at most 2 minutes
            if self.is_cancelled:
                return
            await asyncio.sleep(0.1)
        yield {}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = RunningDaemon(tmp_path_factory.mktemp("jobs-search") / "data")
    write_module(running.modules_dir, "echo", ECHO, inputs=[{"id": "word", "type": "text"}])
    write_module(running.modules_dir, "napper", NAPPER)
    running.start()
    words = ["alpha-needle", "beta", "gamma", "explode"]
    ids = [running.start_job("echo", inputs={"word": word}) for word in words]
    for job_id in ids:
        running.wait_job(job_id, timeout=60)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


def open_jobs(
    browser: Any,
    daemon: RunningDaemon,
    route: str,
    viewport: tuple[int, int] = (1280, 860),
    color_scheme: str = "light",
) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=color_scheme
    )
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    watch = ConsoleWatch().attach(page)
    page.goto(f"{daemon.url}/{route}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    return page, watch


ROWS = "#jobs-table tbody tr[data-job]"


def test_search_narrows_the_list_and_survives_a_reload(daemon: RunningDaemon, browser: Any) -> None:
    page, watch = open_jobs(browser, daemon, "#/jobs")
    expect(page.locator(ROWS)).to_have_count(4)
    page.locator("#jobs-search").fill("needle")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator(ROWS).first).to_contain_text("echo")
    expect(page.locator(".filter-chip")).to_have_count(1)
    expect(page.locator(".filter-chip")).to_contain_text("Search: needle")
    assert "q=needle" in page.url
    page.locator("#jobs-since").select_option("2d")
    assert "since=2d" in page.url
    screenshot(page, "jobs-search")

    page.reload()
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    expect(page.locator(ROWS)).to_have_count(1)
    expect(page.locator("#jobs-search")).to_have_value("needle")
    expect(page.locator("#jobs-since")).to_have_value("2d")
    expect(page.locator(".filter-chip")).to_have_count(2)

    # A chip removes its filter; removing the search brings every job back.
    page.get_by_role("button", name="Remove filter Search: needle").click()
    expect(page.locator(ROWS)).to_have_count(4)
    expect(page.locator("#jobs-search")).to_have_value("")
    assert "q=" not in page.url
    assert watch.unexpected() == []
    page.context.close()


def test_a_shared_link_and_a_bad_filter(daemon: RunningDaemon, browser: Any) -> None:
    route = "#/jobs?q=QUOTA&status=failed"
    page, watch = open_jobs(browser, daemon, route, viewport=(800, 600), color_scheme="dark")
    expect(page.locator(ROWS)).to_have_count(1)
    screenshot(page, "jobs-search-dark-800x600")
    expect(page.locator(f"{ROWS} .badge")).to_have_text("failed")
    expect(page.locator('.segmented button[data-status="failed"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    page.goto(f"{daemon.url}/#/jobs?since=yesterday")
    expect(page.locator("#jobs-table")).to_contain_text("This filter cannot be used (since)")
    expect(page.locator("#jobs-table")).to_contain_text("not a date")
    assert [m for m in watch.unexpected() if "422" not in m] == []
    page.context.close()


def test_selected_running_jobs_stop_together(daemon: RunningDaemon, browser: Any) -> None:
    napping = [daemon.start_job("napper") for _ in range(2)]
    for job_id in napping:
        daemon.wait_job(job_id, ["running"], timeout=30)
    page, watch = open_jobs(browser, daemon, "#/jobs?module_id=napper")
    expect(page.locator(ROWS)).to_have_count(2)
    bar = page.get_by_role("group", name="Selected jobs")
    expect(bar).to_be_hidden()
    page.get_by_role("checkbox", name="Select every job shown").check()
    expect(bar).to_contain_text("2 jobs selected")
    bar.get_by_role("button", name="Stop").click()
    for job_id in napping:
        expect(page.locator(f'tr[data-job="{job_id}"] .badge')).to_have_text("stopped")
        assert daemon.wait_job(job_id, timeout=30)["status"] == "stopped"
    expect(bar.get_by_role("button", name="Stop")).to_be_disabled()  # nothing left to stop
    bar.get_by_role("button", name="Clear selection").click()
    expect(bar).to_be_hidden()
    assert watch.unexpected() == []
    page.context.close()
