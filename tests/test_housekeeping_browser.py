"""The dashboard's housekeeping, in real Chromium against a real daemon: Delete on a job's page
and bulk Delete on the jobs list (each after a confirmation; a running job is never offered),
and Settings → Webhooks (add with a field error first, test, the delivery log) with a real
receiver on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module
from tests.support.receiver import Receiver, receiver

pytestmark = [pytest.mark.live, pytest.mark.browser]

UI_TIMEOUT = 20_000  # ms
QUICK = """
from sweatpants import Module


class Quick(Module):
    async def run(self, inputs, settings):
        await self.log("quick")
        yield {"n": 1}
"""
NAPPER = """
import asyncio
from sweatpants import Module


class Napper(Module):
    async def run(self, inputs, settings):
        while not self.is_cancelled:
            await asyncio.sleep(0.05)
        yield {"woke": True}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    base = tmp_path_factory.mktemp("housekeeping")
    running = RunningDaemon(base / "data").start()
    try:
        for module_id, code in (("quick", QUICK), ("napper", NAPPER)):
            folder = write_module(base / "src", module_id, code)
            answer = running.client().post("/modules/install", json={"source_path": str(folder)})
            assert answer.status_code == 200, answer.text
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def http() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


def open_page(browser: Any, daemon: RunningDaemon, route: str) -> tuple[Page, ConsoleWatch]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(UI_TIMEOUT)
    page = context.new_page()
    watch = ConsoleWatch().attach(page)
    page.goto(f"{daemon.url}/{route}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    return page, watch


def test_delete_on_a_job_page_asks_first(daemon: RunningDaemon, browser: Any) -> None:
    job_id = daemon.start_job("quick")
    daemon.wait_job(job_id)
    page, watch = open_page(browser, daemon, f"#/jobs/{job_id}")
    delete = page.locator("#job-delete")
    delete.click()
    dialog = page.get_by_role("dialog", name=f"Delete job {job_id[:8]}?")
    expect(dialog).to_contain_text("logs, results and checkpoint are deleted too")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert daemon.client().get(f"/jobs/{job_id}").status_code == 200
    delete.click()
    page.get_by_role("dialog").get_by_role("button", name="Delete job").click()
    expect(page).to_have_url(f"{daemon.url}/#/jobs")
    assert daemon.client().get(f"/jobs/{job_id}").status_code == 404
    running = daemon.start_job("napper")
    daemon.wait_job(running, ["running"], timeout=30)
    page.goto(f"{daemon.url}/#/jobs/{running}")
    expect(page.locator("#job-stop")).to_be_visible()
    expect(page.locator("#job-delete")).to_be_hidden()  # a running job offers Stop only
    page.locator("#job-stop").click()
    expect(page.locator("#job-delete")).to_be_visible()
    assert watch.unexpected() == []
    page.context.close()


def test_bulk_delete_on_the_jobs_list(daemon: RunningDaemon, browser: Any) -> None:
    finished = [daemon.start_job("quick") for _ in range(3)]
    for job_id in finished:
        daemon.wait_job(job_id)
    active = daemon.start_job("napper")
    daemon.wait_job(active, ["running"], timeout=30)
    page, watch = open_page(browser, daemon, "#/jobs")
    rows = page.locator("#jobs-table tbody tr[data-job]")
    for job_id in [*finished, active]:
        expect(page.locator(f'tr[data-job="{job_id}"]')).to_be_visible()
    page.get_by_role("checkbox", name="Select every job shown").check()
    bar = page.get_by_role("group", name="Selected jobs")
    shown = rows.count()
    expect(bar.get_by_role("button", name=f"Delete {shown - 1}")).to_be_enabled()
    bar.get_by_role("button", name=f"Delete {shown - 1}").click()
    dialog = page.get_by_role("dialog", name=f"Delete {shown - 1} jobs?")
    screenshot(page, "jobs-bulk-delete-confirm", full_page=False)
    dialog.get_by_role("button", name=f"Delete {shown - 1} jobs").click()
    for job_id in finished:
        expect(page.locator(f'tr[data-job="{job_id}"]')).to_have_count(0)
        assert daemon.client().get(f"/jobs/{job_id}").status_code == 404
    expect(page.locator(f'tr[data-job="{active}"]')).to_be_visible()
    assert daemon.job(active)["status"] == "running"
    daemon.client().post(f"/jobs/{active}/stop")
    daemon.wait_job(active)
    assert watch.unexpected() == []
    page.context.close()


def test_settings_webhooks_add_test_and_delivery_log(
    daemon: RunningDaemon, browser: Any, http: Receiver, tmp_path: Path
) -> None:
    url = http.on("/dashboard", [200])
    page, watch = open_page(browser, daemon, "#/overview")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    page.fill("#wh-url", "ftp://example.org/hook")
    page.locator("#webhook-add").click()
    error = page.locator('.field[data-field="url"] .field-error')
    expect(error).to_contain_text("not an http:// or https:// URL")
    assert daemon.client().get("/webhooks").json()["webhooks"] == []
    watch.allowed.append("422")
    page.fill("#wh-url", url)
    page.fill("#wh-secret", "dash-secret")
    page.locator("#webhook-add").click()
    row = page.locator("#webhooks-table tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(url)
    expect(row).to_contain_text("signed")
    expect(row).to_contain_text("job.completed, job.failed, job.stopped")
    expect(page.locator("#wh-url")).to_have_value("")  # the form is ready for the next one
    expect(page.locator("#wh-event-job\\.completed")).to_be_checked()
    row.get_by_role("button", name=f"Send a test delivery to {url}").click()
    expect(page.locator(".toast", has_text="Test delivered")).to_contain_text("HTTP 200")
    assert http.received("/dashboard")[-1].headers["X-Sweatpants-Event"] == "webhook.test"
    row.get_by_role("button", name=f"Delivery log of {url}").click()
    log = page.locator("#deliveries-table tbody tr")
    expect(log).to_have_count(1)
    expect(log).to_contain_text("webhook.test")
    expect(log).to_contain_text("delivered")
    screenshot(page, "settings-webhooks")
    row.get_by_role("button", name=f"Delete the webhook to {url}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete webhook").click()
    expect(page.locator("#webhooks-table")).to_have_count(0)
    assert daemon.client().get("/webhooks").json()["webhooks"] == []
    assert watch.unexpected() == []
    page.context.close()
