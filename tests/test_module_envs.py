"""Each module with requirements runs on an environment of its own, with real packages.

One daemon serves the tests of this file (module-scoped). Packages come from the package
registry through uv, with uv's cache (~/.cache/uv unless UV_CACHE_DIR says otherwise), so a
second run of these tests resolves in well under a second per environment.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module
from tests.test_cli_live import ok, run_cli

pytestmark = [pytest.mark.live, pytest.mark.slow, pytest.mark.timeout(600)]

# `SWEATPANTS_JOB_TRANSPORT=pipes pytest ...` runs these on the pipes transport: each job is a
# fresh interpreter (of its environment), never forked, so the warm starter checks do not apply.
FORKED = os.environ.get("SWEATPANTS_JOB_TRANSPORT", "fork") != "pipes"

REPORTS = """
import asyncio, os, sys
from sweatpants import Module

class Reports(Module):
    async def run(self, inputs, settings):
        import httpx, idna
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as file:
            parent = [part.decode() for part in file.read().split(b"\\0") if part]
        await asyncio.sleep(inputs.get("hold", 0))
        yield {
            "idna": idna.__version__, "idna_file": idna.__file__,
            "httpx": httpx.__version__, "httpx_file": httpx.__file__,
            "python": sys.executable, "parent": parent, "ppid": os.getppid(),
            "daemon_packages": sorted(m for m in ("fastapi", "uvicorn", "starlette")
                                      if m in sys.modules),
        }
"""
HOLD: list[dict[str, Any]] = [{"id": "hold", "type": "number", "default": 0}]

BUSY = """
import asyncio
from sweatpants import Module

class Busy(Module):
    async def run(self, inputs, settings):
        if inputs["mode"] == "burst":
            for i in range(inputs["n"]):
                await self.log(f"line {i}")
                yield {"i": i}
            return
        await self.log("spinning")
        while True:
            await asyncio.sleep(0.05)
        yield {}
"""
BUSY_INPUTS: list[dict[str, Any]] = [
    {"id": "mode", "type": "text", "default": "spin"},
    {"id": "n", "type": "integer", "default": 0},
]


@pytest.fixture(scope="module")
def envd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    daemon = RunningDaemon(tmp_path_factory.mktemp("envs") / "data").start()
    yield daemon
    daemon.stop()


def install(daemon: RunningDaemon, folder: Path) -> dict[str, Any]:
    answer = daemon.client().post(
        "/modules/install", json={"source_path": str(folder)}, timeout=300
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def install_streamed(daemon: RunningDaemon, folder: Path) -> list[dict[str, Any]]:
    """POST /modules/install?stream=true: every NDJSON line, in order."""
    with daemon.client().stream(
        "POST",
        "/modules/install",
        params={"stream": "true"},
        json={"source_path": str(folder)},
        timeout=300,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        return [json.loads(line) for line in answer.iter_lines() if line.strip()]


def env_of(daemon: RunningDaemon, module_id: str) -> dict[str, Any]:
    answer = daemon.client().get(f"/modules/{module_id}")
    assert answer.status_code == 200, answer.text
    env: dict[str, Any] = answer.json()["env"]
    return env


def run_one(daemon: RunningDaemon, module_id: str, **inputs: Any) -> dict[str, Any]:
    job_id = daemon.start_job(module_id, inputs=inputs)
    job = daemon.wait_job(job_id, timeout=120)
    assert job["status"] == "completed", job
    [result] = daemon.results(job_id)
    assert isinstance(result, dict)
    return result


def inside(path: str, folder: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


PINS = {"pin-a": "idna==3.6\n", "pin-b": "# B\nidna==3.7\n", "pin-c": "httpx==0.27.0\n"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, envd: RunningDaemon) -> Path:
    """Module sources, with pin-a, pin-b, pin-c (PINS) and plain (none) installed from them."""
    folder = tmp_path_factory.mktemp("sources")
    for module_id, requirements in PINS.items():
        module = write_module(folder, module_id, REPORTS, inputs=HOLD, requirements=requirements)
        assert install(envd, module)["requirements"] == "installed"
    install(envd, write_module(folder, "plain", REPORTS, inputs=HOLD))
    return folder


def test_three_modules_side_by_side_each_on_its_own_versions(
    envd: RunningDaemon, sources: Path
) -> None:
    daemons_idna, daemons_httpx = metadata.version("idna"), metadata.version("httpx")
    assert daemons_idna not in ("3.6", "3.7") and daemons_httpx != "0.27.0"
    pins = PINS

    # Run concurrently: each job holds on until all four have started.
    ids = {
        module_id: envd.start_job(module_id, inputs={"hold": 1.0}) for module_id in [*pins, "plain"]
    }
    results = {}
    for module_id, job_id in ids.items():
        job = envd.wait_job(job_id, timeout=120)
        assert job["status"] == "completed", job
        [results[module_id]] = envd.results(job_id)

    envs = {module_id: env_of(envd, module_id) for module_id in pins}
    assert len({env["path"] for env in envs.values()}) == 3
    for module_id, env in envs.items():
        result = results[module_id]
        assert result["python"] == env["interpreter"]
        assert inside(result["idna_file"], env["path"]) and inside(
            result["httpx_file"], env["path"]
        )
        assert result["daemon_packages"] == []  # no FastAPI, uvicorn, starlette in the job
        if FORKED:  # the job was forked from its environment's own warm starter
            assert result["parent"][:3] == [env["interpreter"], "-m", "sweatpants.jobs.runner"]
            assert "--request-fd" in result["parent"]
    assert results["pin-a"]["idna"] == "3.6"
    assert results["pin-b"]["idna"] == "3.7"
    assert results["pin-c"]["httpx"] == "0.27.0"

    plain = results["plain"]  # no requirements: the daemon's packages, its fork server
    assert plain["idna"] == daemons_idna and plain["httpx"] == daemons_httpx
    assert not FORKED or "--request-fd" in plain["parent"]
    assert plain["parent"][0] == sys.executable
    assert env_of(envd, "plain") is None
    # The daemon's own packages are untouched.
    assert (metadata.version("idna"), metadata.version("httpx")) == (daemons_idna, daemons_httpx)

    env = envs["pin-a"]
    packages = {package["name"].lower(): package["version"] for package in env["packages"]}
    assert packages["idna"] == "3.6" and "httpx" in packages and "fastapi" not in packages
    assert env["requirements"] == ["idna==3.6"]
    assert env["sdk_needs"] == ["httpx>=0.27", "websockets>=13.1"]
    assert env["installer"] == "uv" and env["built_at"] and env["size_bytes"] > 0
    assert env["python"] == ".".join(str(part) for part in sys.version_info[:3])

    shown = ok(run_cli(envd, "module", "env", "pin-a")).stdout
    assert f"path:        {env['path']}" in shown
    assert any(line.split() == ["idna", "3.6"] for line in shown.splitlines())
    assert "no environment of its own" in ok(run_cli(envd, "module", "env", "plain")).stdout


def test_second_job_forks_from_the_same_warm_starter(envd: RunningDaemon) -> None:
    first, second = run_one(envd, "pin-a"), run_one(envd, "pin-a")
    assert first["python"] == second["python"] == env_of(envd, "pin-a")["interpreter"]
    if FORKED:
        assert first["ppid"] == second["ppid"] and alive(first["ppid"])


def test_reinstall_reuses_the_environment_and_a_new_pin_moves_to_another(
    envd: RunningDaemon, sources: Path
) -> None:
    before = env_of(envd, "pin-a")
    lines = install_streamed(envd, sources / "pin-a")
    assert lines[0]["type"] == "start" and lines[-1]["type"] == "done"
    assert lines[-1]["module"]["id"] == "pin-a"
    logged = [item["line"] for item in lines if item["type"] == "log"]
    assert any("is up to date" in line for line in logged), logged  # no resolver run
    assert env_of(envd, "pin-a")["built_at"] == before["built_at"]

    # Same requirements as pin-b: the two modules share pin-b's environment; pin-a's old one
    # is removed, no job running on it.
    (sources / "pin-a" / "requirements.txt").write_text("idna==3.7  # like B\n")
    lines = install_streamed(envd, sources / "pin-a")
    assert lines[-1]["type"] == "done", lines
    assert env_of(envd, "pin-a")["path"] == env_of(envd, "pin-b")["path"]
    assert not Path(before["path"]).exists()
    assert run_one(envd, "pin-a")["idna"] == "3.7"


def test_a_bad_requirement_fails_naming_it_and_the_previous_version_runs(
    envd: RunningDaemon, sources: Path
) -> None:
    folder = sources / "pin-c"
    working = env_of(envd, "pin-c")
    (folder / "requirements.txt").write_text("httpx==0.27.0\nnonexistent-package-xyz==1.0\n")
    with connect(envd.ws_url("/events")) as events:
        assert json.loads(events.recv(timeout=10))["type"] == "hello"
        answer = envd.client().post(
            "/modules/install", json={"source_path": str(folder)}, timeout=300
        )
        assert answer.status_code == 422, answer.text
        error = answer.json()
        assert "nonexistent-package-xyz" in error["detail"] and error["field"] == "requirements.txt"
        followed = []  # the same install, followed on /events
        for _ in range(200):
            event = json.loads(events.recv(timeout=10))
            if event["type"] == "module_install":
                followed.append(event["line"])
                if "nonexistent-package-xyz" in event["line"]:
                    break
        assert any("nonexistent-package-xyz" in line for line in followed), followed

    # Wrong before anything was printed: the error's own status, streamed or not.
    missing = envd.client().post(
        "/modules/install", params={"stream": "true"}, json={"source_path": str(folder / "no")}
    )
    assert missing.status_code == 422 and missing.json()["field"] == "source_path"

    lines = install_streamed(envd, folder)
    assert lines[-1]["type"] == "error" and lines[-1]["status"] == 422
    assert "nonexistent-package-xyz" in lines[-1]["detail"]
    assert any("nonexistent-package-xyz" in item.get("line", "") for item in lines)

    failed = run_cli(envd, "module", "install", str(folder))
    assert failed.returncode != 0 and "nonexistent-package-xyz" in failed.stderr

    assert env_of(envd, "pin-c") == {**working, "in_use": False}
    assert run_one(envd, "pin-c")["httpx"] == "0.27.0"
    (folder / "requirements.txt").write_text("httpx==0.27.0\n")


def test_rebuild_builds_a_fresh_environment_in_place(envd: RunningDaemon) -> None:
    before = env_of(envd, "pin-c")
    answer = envd.client().post("/modules/pin-c/env/rebuild", timeout=300)
    assert answer.status_code == 200, answer.text
    after = answer.json()["env"]
    assert after["path"] == before["path"] and after["key"] == before["key"]
    assert (Path(after["path"]) / "pyvenv.cfg").stat().st_ino != 0
    assert run_one(envd, "pin-c")["httpx"] == "0.27.0"
    refused = envd.client().post("/modules/plain/env/rebuild")
    assert refused.status_code == 409 and "no requirements.txt" in refused.json()["detail"]


def test_stop_max_duration_and_throughput_on_an_environment(
    envd: RunningDaemon, sources: Path
) -> None:
    folder = write_module(sources, "busy", BUSY, inputs=BUSY_INPUTS, requirements="idna==3.6\n")
    install(envd, folder)

    job_id = envd.start_job("busy")
    envd.wait_job(job_id, statuses=["running"])
    wait_for(lambda: envd.logs(job_id) or None, 30, what="the job's first log line")
    stopped = envd.client().post(f"/jobs/{job_id}/stop")
    assert stopped.status_code == 200, stopped.text
    assert envd.wait_job(job_id, timeout=60)["status"] == "stopped"

    timed = envd.start_job("busy", max_duration="2s")
    job = envd.wait_job(timed, timeout=60)
    assert job["status"] == "stopped" and "max_duration" in job["error"]

    burst = envd.start_job("busy", inputs={"mode": "burst", "n": 20_000})
    job = envd.wait_job(burst, timeout=120)
    assert job["status"] == "completed", job
    assert job["result_count"] == 20_000 and job["log_count"] >= 20_000
    assert [r["i"] for r in envd.results(burst)] == list(range(20_000))


def test_an_environment_stays_while_a_job_runs_on_it(envd: RunningDaemon, sources: Path) -> None:
    """A module updated while its job runs: the job finishes on the packages it started with;
    the old environment goes at the next collection once the job has ended."""
    folder = write_module(sources, "held", REPORTS, inputs=HOLD, requirements="idna==3.6\nsix\n")
    install(envd, folder)
    old = env_of(envd, "held")
    job_id = envd.start_job("held", inputs={"hold": 4.0})
    envd.wait_job(job_id, statuses=["running"])
    wait_for(lambda: env_of(envd, "held")["in_use"] or None, 30, what="the lock to be taken")
    (folder / "requirements.txt").write_text("idna==3.7\nsix\n")
    install(envd, folder)
    assert Path(old["path"]).is_dir()  # a job runs on it
    assert envd.wait_job(job_id, timeout=60)["status"] == "completed"
    assert envd.results(job_id)[0]["idna"] == "3.6"
    assert envd.client().post("/modules/reload", timeout=300).status_code == 200
    assert not Path(old["path"]).exists()


@pytest.mark.timeout(300)
def test_kill_9_resumes_an_environment_job_and_idle_starters_end(
    make_daemon: Any, tmp_path: Path
) -> None:
    daemon: RunningDaemon = make_daemon(env={"SWEATPANTS_ENV_STARTER_IDLE_SECONDS": "1"})
    folder = write_module(
        tmp_path / "src",
        "slow-env",
        samples.CHECKPOINTING,
        inputs=samples.CHECKPOINTING_INPUTS,
        requirements="idna==3.6\n",
    )
    install(daemon, folder)
    job_id = daemon.start_job("slow-env", inputs={"n": 60, "every": 10, "delay": 0.05})

    def past_checkpoint() -> dict[str, Any] | None:
        job = daemon.job(job_id)
        return job if job["result_count"] > (job["checkpoint"] or {}).get("next", 0) >= 20 else None

    job = wait_for(past_checkpoint, 30, what="a checkpoint with results after it")
    child = job["pid"]
    daemon.kill()
    wait_for(lambda: not alive(child), 10, what="the orphaned job process to exit")
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=60)
    assert job["status"] == "completed" and job["resumes"] == 1, job
    assert [r["i"] for r in daemon.results(job_id)] == list(range(60))

    # Its warm starter ends once idle (1 s here); the next job starts a new one.
    install(daemon, write_module(tmp_path / "src", "reports", REPORTS, inputs=HOLD,
                                 requirements="idna==3.6\n"))  # fmt: skip
    first = run_one(daemon, "reports")
    if FORKED:
        assert "--request-fd" in first["parent"]
        wait_for(lambda: not alive(first["ppid"]), 30, what="the idle starter to end")
    second = run_one(daemon, "reports")
    assert second["idna"] == "3.6"
    assert not FORKED or second["ppid"] != first["ppid"]


BROWSING = """
from sweatpants import Module, get_browser

class Browsing(Module):
    async def run(self, inputs, settings):
        import idna, playwright
        async with get_browser(use_proxy=False) as context:
            page = await context.new_page()
            await page.goto("data:text/html,<title>from the pool</title>")
            yield {"title": await page.title(), "idna": idna.__version__,
                   "playwright_file": playwright.__file__}
"""


@pytest.mark.browser
def test_the_browser_pool_serves_an_environment_module(envd: RunningDaemon, sources: Path) -> None:
    folder = write_module(
        sources, "browsing", BROWSING, capabilities=["browser"], requirements="idna==3.6\n"
    )
    install(envd, folder)
    env = env_of(envd, "browsing")
    assert "playwright>=1.40" in env["sdk_needs"]
    result = run_one(envd, "browsing")
    assert result["title"] == "from the pool" and result["idna"] == "3.6"
    assert inside(result["playwright_file"], env["path"])


@pytest.mark.browser
def test_the_dashboard_shows_the_install_log(envd: RunningDaemon, sources: Path) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import ConsoleWatch, launch_chromium, screenshot

    bad = write_module(
        sources, "dash-env", REPORTS, requirements="idna==3.6\nnonexistent-package-xyz==1.0\n"
    )
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)
        page = context.new_page()
        watch = ConsoleWatch(allowed=["422"]).attach(page)
        page.goto(f"{envd.url}/#/modules")
        page.get_by_role("button", name="Install module").click()
        page.get_by_label("Folder path").fill(str(bad))
        page.get_by_role("button", name="Install", exact=True).click()
        log = page.locator("#install-log")
        expect(log).to_contain_text("nonexistent-package-xyz")
        expect(page.locator("#install-form")).to_contain_text("nonexistent-package-xyz")
        screenshot(page, "module-install-log-failed")

        (bad / "requirements.txt").write_text("idna==3.6\n")  # pin-a's first requirements
        page.get_by_role("button", name="Install", exact=True).click()
        expect(page.locator('[data-module="dash-env"]')).to_be_visible()
        assert watch.unexpected() == []
        context.close()
    assert env_of(envd, "dash-env")["requirements"] == ["idna==3.6"]
