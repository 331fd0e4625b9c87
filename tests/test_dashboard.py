"""The dashboard in a real browser (Debian's Chromium via Playwright) against a real daemon.

Each test drives the UI the way a person would: install a module from a folder, run it from
the generated form, watch the log arrive live, read results, export CSV, stop jobs, get
field errors. Screenshots of every main page land in tests/artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module
from tests.support.tinyproxy import TITLE, PageServer, Tinyproxy
from tests.test_modules_git import commit_all, make_repo

pytestmark = [pytest.mark.live, pytest.mark.browser]

UI_TIMEOUT = 20_000  # ms, for conditions the UI reaches on its own

GREETER = """
import asyncio
import os
from sweatpants import Module


class Greeter(Module):
    async def run(self, inputs, settings):
        name = inputs["name"]
        count = inputs.get("count", 5)
        await self.log(f"hello {name}: waiting for the gate")
        for _ in range(1200):  # at most 60 s
            if os.path.exists(inputs["gate"]) or self.is_cancelled:
                break
            await asyncio.sleep(0.05)
        for i in range(count):
            await self.log(f"greeting {i} for {name}")
            yield {"n": i, "greeting": f"hi {name} #{i}", "shout": name.upper()}
            await self.progress(i + 1, count)
        await self.log("all done", "WARNING")
"""

GREETER_INPUTS: list[dict[str, Any]] = [
    {"id": "name", "type": "text", "required": True, "description": "Who to greet."},
    {"id": "count", "type": "integer", "default": 5, "description": "How many greetings."},
    {"id": "gate", "type": "text", "required": True, "description": "Wait for this file."},
    {"id": "loud", "type": "boolean", "default": False, "description": "Shout."},
    {"id": "extra", "type": "json", "description": "Anything else."},
]

SLEEPER = """
import asyncio
from sweatpants import Module


class Sleeper(Module):
    async def run(self, inputs, settings):
        for i in range(1200):  # at most 2 minutes
            if self.is_cancelled:
                await self.log("asked to stop", "WARNING")
                return
            await self.log(f"tick {i}")
            if i % 5 == 0:
                yield {"tick": i}
            await self.progress(i, None)
            await asyncio.sleep(0.1)
"""

CHATTY = """
from sweatpants import Module


class Chatty(Module):
    async def run(self, inputs, settings):
        total = inputs.get("lines", 100000)
        for i in range(total):
            level = "ERROR" if i % 1000 == 0 else "DEBUG" if i % 2 else "INFO"
            await self.log(f"line {i} of the chatty module", level)
        yield {"lines": total}
"""

FAILS = """
from sweatpants import Module


class Fails(Module):
    async def run(self, inputs, settings):
        await self.log("about to fail")
        yield {"partial": 1}
        raise ValueError("upstream returned malformed JSON")
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


OpenPage = Callable[..., tuple[Page, ConsoleWatch]]


@pytest.fixture
def open_page(browser: Any) -> Iterator[OpenPage]:
    """`open_page(daemon, "#/jobs", viewport=..., color_scheme=...)` -> (page, console watch)."""
    contexts: list[Any] = []

    def make(
        daemon: RunningDaemon,
        route: str = "#/overview",
        viewport: tuple[int, int] = (1280, 860),
        color_scheme: str = "light",
    ) -> tuple[Page, ConsoleWatch]:
        context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]},
            color_scheme=color_scheme,
            accept_downloads=True,
        )
        context.set_default_timeout(UI_TIMEOUT)
        contexts.append(context)
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{daemon.url}/{route}")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        return page, watch

    yield make
    for context in contexts:
        context.close()


def install(daemon: RunningDaemon, folder: Path) -> None:
    response = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert response.status_code == 200, response.text


def nav(page: Page, name: str) -> Any:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def mark_page(page: Page) -> None:
    """Tag the document, so a test can tell the page was not reloaded."""
    page.evaluate("window.__sweatpantsMarker = 'still here'")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sweatpantsMarker") == "still here"


def test_install_run_watch_logs_results_and_export_csv(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    folder = write_module(tmp_path / "src", "greeter", GREETER, inputs=GREETER_INPUTS)
    gate = tmp_path / "gate"
    page, watch = open_page(daemon, "#/modules")
    mark_page(page)

    # Install from a folder through the UI.
    expect(page.locator("#module-list")).to_be_visible()
    expect(page.locator('[data-module="greeter"]')).to_have_count(0)
    page.get_by_role("button", name="Install module").click()
    page.get_by_label("Folder path").fill(str(folder))
    page.get_by_role("button", name="Install", exact=True).click()
    card = page.locator('[data-module="greeter"]')
    expect(card).to_be_visible()
    expect(page.locator("#modules-report")).to_contain_text("Installed Greeter")
    assert "greeter" in [m["id"] for m in daemon.client().get("/modules").json()["modules"]]
    screenshot(page, "modules")

    # The run form is generated from the manifest: required marks, defaults, help, types.
    card.get_by_role("link", name="Run Greeter").click()
    expect(page.get_by_role("heading", name="Run Greeter")).to_be_visible()
    form = page.locator("#run-form")
    expect(form.locator('[data-field="inputs.count"] input')).to_have_value("5")
    expect(form.locator('[data-field="inputs.name"] .req')).to_be_visible()
    expect(form.locator('[data-field="inputs.count"]')).to_contain_text("How many greetings.")
    expect(form.locator('[data-field="inputs.loud"] input[type=checkbox]')).not_to_be_checked()
    expect(form.locator('[data-field="inputs.extra"] textarea')).to_be_visible()
    form.locator('[data-field="inputs.name"] input').fill("Ada")
    form.locator('[data-field="inputs.count"] input').fill("4")
    form.locator('[data-field="inputs.gate"] input').fill(str(gate))
    form.locator('[data-field="inputs.loud"] input').check()
    form.locator('[data-field="inputs.extra"] textarea').fill('{"tags": ["a", "b"]}')
    page.get_by_label("Time limit").fill("10m")
    screenshot(page, "run-form")
    page.get_by_role("button", name="Start job").click()

    # The job page: the first log line arrives while the job is still running.
    page.wait_for_url("**/#/jobs/*")
    job_id = page.url.rsplit("/", 1)[1]
    job = daemon.job(job_id)
    assert job["inputs"] == {
        "name": "Ada",
        "count": 4,
        "gate": str(gate),
        "loud": True,
        "extra": {"tags": ["a", "b"]},
    }
    assert job["max_duration"] == "10m"
    log = page.locator(".log-scroll")
    expect(log).to_contain_text("hello Ada: waiting for the gate")
    assert daemon.job(job_id)["status"] == "running"
    expect(page.locator(".title-row .badge")).to_have_text("running")

    # Open the gate: more lines stream in, the state turns completed, all without a reload.
    gate.write_text("open")
    expect(log).to_contain_text("all done")
    expect(log).to_contain_text("greeting 3 for Ada")
    expect(page.locator(".title-row .badge")).to_have_text("completed")
    expect(page.locator(".log-live")).to_contain_text("Ended")
    screenshot(page, "job-detail-logs")

    # Results appear in the table, and match the API.
    page.get_by_role("tab", name="Results").click()
    rows = page.locator("#results-table tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(2)).to_contain_text("hi Ada #2")
    api_results = daemon.results(job_id)
    assert [r["greeting"] for r in api_results] == [f"hi Ada #{i}" for i in range(4)]
    page.get_by_role("button", name="JSON").click()
    expect(page.locator(".results pre")).to_contain_text('"greeting": "hi Ada #3"')
    screenshot(page, "job-detail-results")

    # Export CSV from the UI and compare it with the API's results.
    with page.expect_download() as info:
        page.locator('[data-export="csv"]').click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    exported = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert exported == [{k: str(v) for k, v in r.items()} for r in api_results]

    # The checkpoint / inputs tab shows what the job ran with.
    page.get_by_role("tab", name="Inputs & checkpoint").click()
    expect(page.locator("#panel-details")).to_contain_text('"name": "Ada"')
    assert_not_reloaded(page)
    assert watch.unexpected() == []


def test_stop_running_jobs_from_list_and_detail_updates_live(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    install(daemon, write_module(tmp_path / "src", "sleeper", SLEEPER))
    first = daemon.start_job("sleeper")
    second = daemon.start_job("sleeper")
    daemon.wait_job(first, ["running"], timeout=30)
    daemon.wait_job(second, ["running"], timeout=30)

    page, watch = open_page(daemon, "#/jobs")
    mark_page(page)
    row = page.locator(f'tr[data-job="{first}"]')
    expect(row.locator(".badge")).to_have_text("running")
    expect(page.locator(f'tr[data-job="{second}"] .badge')).to_have_text("running")
    screenshot(page, "jobs")

    # Stop from the list: the row changes state with no reload.
    row.get_by_role("button", name="Stop").click()
    expect(page.locator(f'tr[data-job="{first}"] .badge')).to_have_text("stopped")
    expect(
        page.locator(f'tr[data-job="{first}"]').get_by_role("button", name="Stop")
    ).to_have_count(0)
    assert daemon.job(first)["status"] == "stopped"

    # Filter by status.
    page.locator('.segmented button[data-status="stopped"]').click()
    expect(page.locator("#jobs-table tbody tr[data-job]")).to_have_count(1)
    page.locator('.segmented button[data-status="all"]').click()
    expect(page.locator("#jobs-table tbody tr[data-job]")).to_have_count(2)

    # Stop from the detail page; its log ends with the module's own goodbye.
    page.locator(f'tr[data-job="{second}"] a').first.click()
    expect(page.locator(".log-scroll")).to_contain_text("tick 1")
    # Results of a running job appear as it yields them.
    page.get_by_role("tab", name="Results").click()
    seen = page.locator("#results-table tbody tr").count()
    expect(page.locator("#results-table tbody tr").nth(seen + 1)).to_be_visible()
    page.get_by_role("tab", name="Logs").click()
    page.locator("#job-stop").click()
    expect(page.locator(".title-row .badge")).to_have_text("stopped")
    expect(page.locator(".log-scroll")).to_contain_text("asked to stop")
    expect(page.locator("#job-stop")).to_be_hidden()
    assert daemon.job(second)["status"] == "stopped"

    # The overview lists both among recent jobs.
    nav(page, "Overview").click()
    expect(page.locator(f'#main [data-job="{first}"] .badge')).to_have_text("stopped")
    assert_not_reloaded(page)
    assert watch.unexpected() == []


def test_field_errors_appear_beside_their_field(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    install(daemon, write_module(tmp_path / "src", "greeter", GREETER, inputs=GREETER_INPUTS))
    page, watch = open_page(daemon, "#/run/greeter")
    watch.allowed.append("status of 422")  # Chromium logs each 4xx answer it receives
    form = page.locator("#run-form")

    form.locator('[data-field="inputs.name"] input').fill("Ada")
    form.locator('[data-field="inputs.gate"] input').fill("/nonexistent")
    form.locator('[data-field="inputs.count"] input').fill("lots")
    page.get_by_role("button", name="Start job").click()
    error = form.locator('[data-field="inputs.count"] .field-error')
    expect(error).to_contain_text("integer")
    expect(form.locator('[data-field="inputs.count"] input')).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(form.locator('[data-field="inputs.count"] input')).to_be_focused()
    expect(form.locator(".field-error")).to_have_count(1)
    screenshot(page, "run-form-error")

    # A missing required input, then a bad time limit: each beside its own field.
    form.locator('[data-field="inputs.count"] input').fill("2")
    form.locator('[data-field="inputs.name"] input').fill("")
    page.get_by_role("button", name="Start job").click()
    expect(form.locator('[data-field="inputs.name"] .field-error')).to_contain_text("required")
    expect(form.locator('[data-field="inputs.count"] .field-error')).to_have_count(0)

    form.locator('[data-field="inputs.name"] input').fill("Ada")
    page.get_by_label("Time limit").fill("whenever")
    page.get_by_role("button", name="Start job").click()
    expect(form.locator('[data-field="max_duration"] .field-error')).to_contain_text("duration")

    # Bad JSON is caught before anything is sent.
    page.get_by_label("Time limit").fill("")
    form.locator('[data-field="inputs.extra"] textarea').fill("{not json")
    page.get_by_role("button", name="Start job").click()
    expect(form.locator('[data-field="inputs.extra"] .field-error')).to_contain_text("JSON")
    assert daemon.client().get("/jobs").json()["jobs"] == []

    # Installing from a folder that does not exist names the field too.
    nav(page, "Modules").click()
    page.get_by_role("button", name="Install module").click()
    page.get_by_label("Folder path").fill(str(tmp_path / "missing"))
    page.get_by_role("button", name="Install", exact=True).click()
    expect(page.locator('[data-field="source_path"] .field-error')).to_be_visible()
    assert watch.unexpected() == []


def test_git_install_sync_reload_and_uninstall(
    make_daemon: Callable[..., RunningDaemon], open_page: OpenPage, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    write_module(repo, "alpha", SLEEPER, name="Alpha")
    write_module(repo, "beta", SLEEPER, name="Beta", capabilities=["proxy"])
    commit_all(repo)
    local = write_module(tmp_path / "local", "localmod", SLEEPER, name="Local Module")
    config = tmp_path / "modules.yaml"
    config.write_text(f"module_sources:\n  - repo: {local}\n  - path: {tmp_path / 'nowhere'}\n")
    daemon = make_daemon(env={"SWEATPANTS_MODULES_CONFIG_PATH": str(config)})
    page, watch = open_page(daemon, "#/modules")

    # From git, with a subfolder.
    page.get_by_role("button", name="Install module").click()
    page.get_by_role("button", name="From git").click()
    page.get_by_label("Repository URL").fill(repo.as_uri())
    page.get_by_label("Subfolder (optional)").fill("beta")
    page.get_by_role("button", name="Install", exact=True).click()
    expect(page.locator('[data-module="beta"]')).to_be_visible()
    expect(page.locator('[data-module="beta"]')).to_contain_text("proxy")
    expect(page.locator('[data-module="alpha"]')).to_have_count(0)

    # Sync from modules.yaml: one installed, one failed; a second sync skips it.
    page.get_by_role("button", name="Sync").click()
    report = page.locator("#sync-report")
    expect(report.locator('[data-report="installed"]')).to_contain_text("Local Module")
    expect(report.locator('[data-report="failed"]')).to_contain_text("nowhere")
    expect(report).to_contain_text(str(config))
    expect(page.locator('[data-module="localmod"]')).to_be_visible()
    screenshot(page, "modules-sync-report")
    page.get_by_role("button", name="Sync").click()
    expect(report.locator('[data-report="skipped"]')).to_contain_text("localmod")
    expect(report.locator('[data-report="installed"]')).to_contain_text("Installed (0)")

    # Reload re-reads the folder.
    page.get_by_role("button", name="Reload").click()
    count = len(daemon.client().get("/modules").json()["modules"])
    expect(page.locator("#toasts")).to_contain_text(f"Reloaded {count} modules")

    # Uninstall asks first; cancelling keeps the module.
    page.locator('[data-module="beta"]').get_by_role("link", name="Details of Beta").click()
    expect(page.get_by_label("Full manifest")).to_contain_text('"id": "beta"')
    page.get_by_role("button", name="Uninstall").click()
    dialog = page.get_by_role("dialog", name="Uninstall Beta?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert "beta" in [m["id"] for m in daemon.client().get("/modules").json()["modules"]]
    page.get_by_role("button", name="Uninstall").click()
    page.get_by_role("dialog", name="Uninstall Beta?").get_by_role(
        "button", name="Uninstall"
    ).click()
    page.wait_for_url("**/#/modules")
    expect(page.locator('[data-module="localmod"]')).to_be_visible()
    expect(page.locator('[data-module="beta"]')).to_have_count(0)
    assert "beta" not in [m["id"] for m in daemon.client().get("/modules").json()["modules"]]
    assert watch.unexpected() == []


@pytest.mark.slow
def test_log_view_copes_with_100k_lines(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    install(daemon, write_module(tmp_path / "src", "chatty", CHATTY))
    job_id = daemon.start_job("chatty")
    daemon.wait_job(job_id, ["completed"], timeout=90)
    page, watch = open_page(daemon, f"#/jobs/{job_id}")
    stats = page.locator(".log-stats")
    expect(stats).to_have_text("100,000 entries", timeout=60_000)
    log = page.locator(".log-scroll")
    expect(log).to_contain_text("line 99999 of the chatty module")
    # Only the visible window is in the DOM, however long the log.
    assert page.locator(".log-row").count() < 200

    # Scroll up: following pauses and "Jump to latest" offers the way back.
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(page.get_by_role("button", name="Jump to latest")).to_be_visible()
    expect(log).to_contain_text("line 0 of the chatty module")
    page.get_by_role("button", name="Jump to latest").click()
    expect(page.get_by_role("button", name="Jump to latest")).to_be_hidden()
    expect(log).to_contain_text("line 99999 of the chatty module")

    # Filter by level: 100 ERROR lines.
    page.get_by_label("Level").select_option("40")
    expect(stats).to_have_text("100 of 100,000 lines")
    expect(log).to_contain_text("line 99000 of the chatty module")
    page.get_by_label("Level").select_option("0")
    page.get_by_label("Filter lines").fill("line 42424")
    expect(stats).to_have_text("1 of 100,000 lines")
    assert watch.unexpected() == []


def test_screenshots_of_every_page_light_dark_and_small(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    install(daemon, write_module(src, "greeter", GREETER, inputs=GREETER_INPUTS, name="Greeter"))
    install(daemon, write_module(src, "sleeper", SLEEPER, capabilities=["browser"]))
    install(daemon, write_module(src, "fails", FAILS, name="Flaky Importer"))
    gate = tmp_path / "gate"
    gate.write_text("open")
    done = daemon.start_job("greeter", inputs={"name": "Ada", "gate": str(gate), "count": 12})
    failed = daemon.start_job("fails")
    daemon.wait_job(done)
    daemon.wait_job(failed)
    running = daemon.start_job("sleeper")
    daemon.wait_job(running, ["running"], timeout=30)
    wait_for(lambda: daemon.job(running)["log_count"] >= 5, 30, what="some log lines")

    pages = {
        "overview": "#/overview",
        "modules-list": "#/modules",
        "module-detail": "#/modules/greeter",
        "run": "#/run/greeter",
        "jobs-list": "#/jobs",
        "job-running": f"#/jobs/{running}",
        "job-failed": f"#/jobs/{failed}",
        "proxy": "#/proxy",
    }
    for variant, viewport, scheme in (
        ("", (1280, 860), "light"),
        ("-dark", (1280, 860), "dark"),
        ("-800x600", (800, 600), "light"),
    ):
        page, watch = open_page(daemon, "#/overview", viewport=viewport, color_scheme=scheme)
        for name, route in pages.items():
            page.goto(f"{daemon.url}/{route}")
            expect(page.locator("#main h1")).to_be_visible()
            expect(page.locator("#main .loading")).to_have_count(0)
            if name.startswith("job-"):
                expect(page.locator(".log-row").first).to_be_visible()
            if name == "job-failed":
                expect(page.locator("#job-traceback")).to_contain_text("ValueError")
            screenshot(page, f"{name}{variant}", full_page=variant != "-800x600")
        assert watch.unexpected() == []
    daemon.client().post(f"/jobs/{running}/stop")


def test_token_from_url_and_prompt(make_daemon: Callable[..., RunningDaemon], browser: Any) -> None:
    daemon = make_daemon(token="s3cret-token")
    # The desktop app opens the page with #token=...: no prompt, and the token leaves the URL.
    context = browser.new_context()
    context.set_default_timeout(UI_TIMEOUT)
    try:
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{daemon.url}/#token=s3cret-token")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        expect(page.locator("#main")).to_contain_text("Running")
        assert page.evaluate("location.hash") == "#/overview"
        assert page.evaluate("sessionStorage.getItem('sweatpants.token')") == "s3cret-token"
        nav(page, "Jobs").click()
        expect(page.locator("#jobs-table")).to_be_visible()
        assert watch.unexpected() == []
    finally:
        context.close()

    # Without it: a small prompt; once answered, the page and the live stream work.
    context = browser.new_context()
    context.set_default_timeout(UI_TIMEOUT)
    try:
        page = context.new_page()
        watch = ConsoleWatch(allowed=["status of 401", "WebSocket connection to"]).attach(page)
        page.goto(f"{daemon.url}/#/jobs")
        dialog = page.get_by_role("dialog", name="API token needed")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Token").fill("s3cret-token")
        dialog.get_by_role("button", name="Connect").click()
        expect(page.locator("#jobs-table")).to_be_visible()
        expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        assert watch.unexpected() == []
    finally:
        context.close()


@pytest.mark.proxy
def test_proxy_tester_sends_through_tinyproxy(
    make_daemon: Callable[..., RunningDaemon], open_page: OpenPage, tmp_path: Path
) -> None:
    proxy = Tinyproxy(tmp_path / "tinyproxy").start()
    site = PageServer()
    try:
        daemon = make_daemon(env={"SWEATPANTS_PROXY_URL": proxy.url()})
        page, watch = open_page(daemon, "#/overview")
        expect(page.locator("#main")).to_contain_text("Configured")
        nav(page, "Proxy tester").click()
        expect(page.locator("#main .notice")).to_contain_text("Proxy configured")
        page.get_by_label("URL").fill(f"{site.url}/")
        page.get_by_label("Headers").fill("X-Dashboard: yes")
        page.get_by_role("button", name="Send request").click()
        result = page.locator("#proxy-result")
        expect(result).to_contain_text("HTTP 200")
        expect(result).to_contain_text(TITLE)
        expect(result).to_contain_text("via")
        assert any(f"{site.url}/" in line for line in proxy.requests()), proxy.requests()
        screenshot(page, "proxy-result")

        # A bad URL is a field error beside the URL.
        watch.allowed.append("status of 422")
        page.get_by_label("URL").fill("ftp://nowhere")
        page.get_by_role("button", name="Send request").click()
        expect(page.locator('[data-field="url"] .field-error')).to_be_visible()
        assert watch.unexpected() == []
    finally:
        site.stop()
        proxy.stop()


KEYED = """
import hashlib
from sweatpants import Module


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest() if value else "none"


class Keyed(Module):
    async def run(self, inputs, settings):
        await self.log(f"delay {settings.get('delay')} verbose {settings.get('verbose')}")
        await self.log("token sha256 " + digest(settings.get("token")))
        await self.log("key sha256 " + digest(inputs.get("key")))
        yield {"ok": True}
"""
KEYED_SETTINGS: list[dict[str, Any]] = [
    {"id": "delay", "type": "integer", "default": 1, "description": "Seconds between pages."},
    {"id": "verbose", "type": "boolean"},
    {"id": "token", "type": "secret", "required": True, "description": "The API token."},
]
DASH_TOKEN = "tok-dash-77c1e0-stored"
DASH_KEY = "key-dash-a41f9b-input"


def test_module_settings_tab_and_run_again_keep_secrets_in_the_daemon(
    daemon: RunningDaemon, open_page: OpenPage, tmp_path: Path
) -> None:
    import hashlib

    inputs = [{"id": "key", "type": "secret"}]
    folder = write_module(tmp_path / "src", "keyed", KEYED, inputs=inputs, settings=KEYED_SETTINGS)
    install(daemon, folder)
    client = daemon.client()
    page, watch = open_page(daemon, "#/modules/keyed")
    watch.allowed.append("status of 422")  # Chromium logs each 4xx answer it receives
    answers: list[tuple[str, str]] = []  # (url, body) of every fetch the page made

    def keep(response: Any) -> None:
        if response.request.resource_type == "fetch":  # read now: gone once the page moves
            answers.append((response.url, response.body().decode(errors="replace")))

    page.on("response", keep)

    # The Settings section: one field per declared setting; the secret is a password box.
    form = page.locator("#module-settings-form")
    token = form.locator('[data-field="settings.token"] input')
    delay = form.locator('[data-field="settings.delay"] input')
    expect(token).to_have_attribute("type", "password")
    expect(token).to_have_attribute("placeholder", "not set")
    expect(delay).to_have_attribute("placeholder", "default: 1")
    delay.fill("3")
    form.locator('[data-field="settings.verbose"] select').select_option("true")
    token.fill(DASH_TOKEN)
    page.get_by_role("button", name="Save settings").click()
    expect(token).to_have_attribute("placeholder", "stored")
    expect(token).to_have_value("")
    saved = {"delay": 3, "token": "********", "verbose": True}
    assert client.get("/modules/keyed/settings").json()["settings"] == saved
    screenshot(page, "module-settings")

    # A wrong value: the daemon's error beside its field, and nothing stored changes.
    delay.fill("soon")
    page.get_by_role("button", name="Save settings").click()
    error = form.locator('[data-field="settings.delay"] .field-error')
    expect(error).to_contain_text("Expected an integer, got 'soon'")
    assert client.get("/modules/keyed/settings").json()["settings"] == saved

    # Opened again, the secret is never filled back in; saving without typing keeps it.
    page.reload()
    expect(token).to_have_attribute("placeholder", "stored")
    expect(token).to_have_value("")
    expect(delay).to_have_value("3")
    delay.fill("4")
    page.get_by_role("button", name="Save settings").click()
    expect(form.locator('[data-field="settings.delay"]')).to_have_attribute("data-stored", "yes")
    wait_for(
        lambda: client.get("/modules/keyed/settings").json()["settings"]["delay"] == 4,
        10,
        what="delay 4 stored",
    )
    assert client.get("/modules/keyed/settings").json()["settings"]["token"] == "********"

    # A job started elsewhere with a secret input; "Run again" on its page copies both
    # secrets inside the daemon.
    first = daemon.start_job("keyed", inputs={"key": DASH_KEY})
    daemon.wait_job(first)
    page.goto(f"{daemon.url}/#/jobs/{first}")
    page.get_by_role("button", name="Run again").click()
    page.wait_for_url(lambda url: "#/jobs/" in url and first not in url)
    again = page.url.rsplit("/", 1)[1]
    assert daemon.wait_job(again)["status"] == "completed"
    said = [entry["message"] for entry in daemon.logs(again)]
    assert said == [
        "delay 4 verbose True",
        "token sha256 " + hashlib.sha256(DASH_TOKEN.encode()).hexdigest(),
        "key sha256 " + hashlib.sha256(DASH_KEY.encode()).hexdigest(),
    ]

    # "Edit and run": the run form with the job's values, the secret ones left empty.
    page.get_by_role("button", name="Edit and run").click()
    run_form = page.locator("#run-form")
    expect(run_form.locator('[data-field="settings.delay"] input')).to_have_value("4")
    expect(run_form.locator('[data-field="inputs.key"] input')).to_have_value("")
    expect(run_form.locator('[data-field="settings.token"] input')).to_have_value("")

    # Forget removes the stored secret; an emptied box removes its value.
    page.goto(f"{daemon.url}/#/modules/keyed")
    page.get_by_role("button", name="Forget the stored token").click()
    page.get_by_role("button", name="Save settings").click()
    expect(token).to_have_attribute("placeholder", "not set")
    assert client.get("/modules/keyed/settings").json()["settings"] == {
        "delay": 4,
        "verbose": True,
    }
    delay.fill("")
    page.get_by_role("button", name="Save settings").click()
    expect(form.locator('[data-field="settings.delay"]')).to_have_attribute("data-stored", "no")
    assert client.get("/modules/keyed/settings").json()["settings"] == {"verbose": True}

    # No answer the page received held either secret.
    assert any("/rerun" in url for url, _ in answers)
    for url, body in answers:
        assert DASH_TOKEN not in body and DASH_KEY not in body, url
    assert watch.unexpected() == []
