"""get_browser in real jobs of a live daemon: pooled Chromium, through tinyproxy."""

from __future__ import annotations

import os
import signal
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module
from tests.support.tinyproxy import TITLE, PageServer, Tinyproxy

pytestmark = [pytest.mark.browser, pytest.mark.live, pytest.mark.proxy, pytest.mark.slow]

SECRET = "browser-proxy-secret"

TITLE_MODULE = """
import asyncio
import time
from sweatpants import Module, get_browser

class Title(Module):
    async def run(self, inputs, settings):
        started = time.perf_counter()
        async with get_browser(use_proxy=inputs.get("proxy", True)) as context:
            acquired = time.perf_counter() - started
            page = await context.new_page()
            await page.goto(inputs["url"])
            title = await page.title()
            await self.log(f"got {title!r} after {acquired * 1000:.0f} ms")
            for _ in range(int(inputs.get("hold", 0) * 10)):
                await page.evaluate("1 + 1")
                await asyncio.sleep(0.1)
            yield {"title": title, "acquire_ms": round(acquired * 1000)}
"""
INPUTS = [
    {"id": "url", "type": "text", "required": True},
    {"id": "hold", "type": "number", "default": 0},
    {"id": "proxy", "type": "boolean", "default": True},
]


@pytest.fixture
def site() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


@pytest.fixture
def tinyproxy(tmp_path: Path) -> Iterator[Tinyproxy]:
    proxy = Tinyproxy(tmp_path / "tinyproxy", users={"user-rot": SECRET}).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def browser_daemon(make_daemon: Any, tinyproxy: Tinyproxy) -> RunningDaemon:
    env = {
        "SWEATPANTS_PROXY_URL": tinyproxy.url("user-rot", SECRET),
        "SWEATPANTS_BROWSER_POOL_SIZE": "2",
        "SWEATPANTS_MAX_RUNNING_JOBS": "10",
    }
    daemon: RunningDaemon = make_daemon(env=env, token="tok-browser")
    write_module(daemon.modules_dir, "title", TITLE_MODULE, inputs=INPUTS, capabilities=["browser"])
    return daemon


def browser_of(daemon: RunningDaemon, job_id: str) -> dict[str, Any]:
    """The pooled browser serving `job_id`, once the job has loaded its page."""
    wait_for(
        lambda: any(e["message"].startswith("got ") for e in daemon.logs(job_id)),
        60,
        what=f"job {job_id} to load its page",
    )
    browser: dict[str, Any] = next(
        b for b in browser_state(daemon)["browsers"] if job_id in b["jobs"]
    )
    return browser


def browser_state(daemon: RunningDaemon) -> dict[str, Any]:
    state: dict[str, Any] = daemon.client().get("/status").json()["browser"]
    return state


def test_ten_jobs_share_a_pool_of_two_through_the_proxy(
    browser_daemon: RunningDaemon, site: PageServer, tinyproxy: Tinyproxy
) -> None:
    daemon = browser_daemon
    assert browser_state(daemon)["state"] == "idle"  # nothing launched until asked
    jobs = [daemon.start_job("title", inputs={"url": f"{site.url}/?job={i}"}) for i in range(10)]
    finished = [daemon.wait_job(job_id, timeout=180) for job_id in jobs]
    for job in finished:
        assert job["status"] == "completed", (job, daemon.log())
    results = [daemon.results(job_id)[0] for job_id in jobs]
    assert all(result["title"] == TITLE for result in results)
    times = sorted(result["acquire_ms"] for result in results)
    print(f"\ncontext acquire ms: median {statistics.median(times)}, all {times}")
    logged = tinyproxy.requests()
    for i in range(10):
        assert f"GET {site.url}/?job={i} HTTP/1.1" in logged, tinyproxy.log()
    state = wait_for(
        lambda: (s := browser_state(daemon))["contexts_in_use"] == 0 and s,
        20,
        what="every lease to be released",
    )
    assert state["pool_size"] == 2 and state["alive"] == 2
    assert state["leases_served"] >= 10 and state["crashes"] == 0
    assert SECRET not in daemon.log()


def test_killed_browser_fails_only_its_job_and_the_pool_heals(
    browser_daemon: RunningDaemon, site: PageServer
) -> None:
    daemon = browser_daemon
    victim = daemon.start_job("title", inputs={"url": site.url + "/victim", "hold": 60})
    # A job that cannot connect to its leased browser leases another, so look for each job's
    # browser only once it has loaded its page (its "got ..." log line).
    first = browser_of(daemon, victim)
    wait_for(lambda: browser_state(daemon)["alive"] == 2, 30, what="both pooled browsers")
    steady = daemon.start_job("title", inputs={"url": site.url + "/steady", "hold": 4})
    assert browser_of(daemon, steady)["id"] != first["id"]  # the least busy browser
    os.kill(first["pid"], signal.SIGKILL)

    failed = daemon.wait_job(victim, timeout=60)
    assert failed["status"] == "failed"
    # Whichever the job notices first, the daemon's notice or the dropped connection, the
    # error names the browser and says how to retry.
    assert failed["error"].startswith("BrowserCrashed: the pooled browser"), failed
    assert "exited unexpectedly" in failed["error"] or "disconnected" in failed["error"]
    assert "get_browser" in failed["error"]
    done = daemon.wait_job(steady, timeout=60)
    assert done["status"] == "completed", done
    assert daemon.results(steady) == [
        {"title": TITLE, "acquire_ms": daemon.results(steady)[0]["acquire_ms"]}
    ]

    state = wait_for(
        lambda: (s := browser_state(daemon))["alive"] == 2 and s["contexts_in_use"] == 0 and s,
        30,
        what="the pool to be whole again",
    )
    assert state["crashes"] == 1
    assert first["pid"] not in [b["pid"] for b in state["browsers"]]
    assert not alive(first["pid"])
    again = daemon.start_job("title", inputs={"url": site.url + "/again", "proxy": False})
    assert daemon.wait_job(again, timeout=60)["status"] == "completed"


def test_stopped_job_releases_its_lease_and_daemon_stop_ends_browsers(
    browser_daemon: RunningDaemon, site: PageServer
) -> None:
    daemon = browser_daemon
    job = daemon.start_job("title", inputs={"url": site.url, "hold": 60})
    wait_for(lambda: browser_state(daemon)["contexts_in_use"] == 1, 60, what="the context")
    pids = [b["pid"] for b in browser_state(daemon)["browsers"]]
    response = daemon.client().post(f"/jobs/{job}/stop")
    assert response.status_code == 200, response.text
    assert daemon.wait_job(job, timeout=60)["status"] == "stopped"
    wait_for(lambda: browser_state(daemon)["contexts_in_use"] == 0, 20, what="the lease back")
    daemon.stop()
    for pid in pids:
        wait_for(lambda pid=pid: not alive(pid), 20, what=f"browser {pid} to exit")
    assert not any((daemon.data_dir / "browsers").iterdir())
