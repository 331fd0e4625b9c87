"""A full disk is an ordinary, visible state: real daemons on a real 8 MB tmpfs.

The data directory is a tmpfs mounted for the test (root only: `mount -t tmpfs -o size=8m`),
so SQLite really gets SQLITE_FULL. A real module yields 200,000 results of ~200 B (40 MB):
the job must end `failed` naming the directory, what it stored stays readable, new jobs get
507, `/status` and the tray say so, the database stays sound, and once the tmpfs is made
bigger everything works again without a restart, the job that was waiting included.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sweatpants.config import Settings
from sweatpants.desktop.watch import StatusTracker, TraySnapshot, Watcher
from sweatpants.errors import ConfigError, InsufficientStorage
from sweatpants.sizes import human_bytes
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import results as result_sql
from sweatpants.store.space import MB, RESERVE_BYTES, is_disk_full
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module

SMALL = "8m"
BIGGER = "64m"
RESULTS = 200_000
RESULT_BYTES = 200
FILLERS = 3  # jobs filling the disk at once; a fourth waits for a slot
WAIT_MS = 20_000  # Playwright's expect waits 5 s unless told; a loaded machine needs more

FILLER = """
from sweatpants import Module

class Filler(Module):
    async def run(self, inputs, settings):
        await self.log("filling the disk")
        for i in range(inputs["n"]):
            row = {"i": i, "pad": ""}
            row["pad"] = "x" * (inputs["size"] - len(str(row).replace("'", '"')))
            yield row
"""

COUNTER = """
from sweatpants import Module

class Counter(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["n"]):
            yield {"i": i}
"""

JOB_ROW: dict[str, Any] = {
    "module_id": "m",
    "inputs": "{}",
    "settings": "{}",
    "max_duration": None,
    "max_seconds": None,
    "created_at": 0.0,
    "executor": "local",
}
N_INPUTS = [{"id": "n", "type": "integer", "required": True}]
FILLER_INPUTS = [*N_INPUTS, {"id": "size", "type": "integer", "default": RESULT_BYTES}]


def mount_tmpfs(path: Path, size: str) -> None:
    """A real small file system; fail loudly (never skip) where it cannot be had."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(
            f"cannot mount a {size} tmpfs at {path} ({done.stderr.strip() or done.returncode}); "
            "the full-disk tests need root and tmpfs (run them as root, as CI does)"
        )


def remount(path: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(path)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MB tmpfs, unmounted afterwards."""
    path = tmp_path / "disk"
    mount_tmpfs(path, SMALL)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture
def disk_daemon(small_disk: Path) -> Iterator[RunningDaemon]:
    """A daemon whose data directory is the 8 MB tmpfs (its own log is outside it)."""
    env = {"SWEATPANTS_MIN_FREE_MB": "1", "SWEATPANTS_MAX_RUNNING_JOBS": str(FILLERS)}
    daemon = RunningDaemon(small_disk, env=env)
    try:
        yield daemon.start()
    finally:
        daemon.stop()


def integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def disk_status(daemon: RunningDaemon) -> dict[str, Any]:
    disk: dict[str, Any] = daemon.client().get("/status").json()["disk"]
    return disk


def fill_the_disk(daemon: RunningDaemon) -> tuple[list[dict[str, Any]], str]:
    """Run the fillers at once (they end failed) with another job queued behind them."""
    write_module(daemon.modules_dir, "filler", FILLER, inputs=FILLER_INPUTS)
    write_module(daemon.modules_dir, "counter", COUNTER, inputs=N_INPUTS)
    fillers = [daemon.start_job("filler", inputs={"n": RESULTS}) for _ in range(FILLERS)]
    waiting = daemon.start_job("counter", inputs={"n": 50})  # every slot is taken: it waits
    return [daemon.wait_job(job_id, timeout=90) for job_id in fillers], waiting


@pytest.mark.live
@pytest.mark.slow
def test_full_disk_fails_the_job_refuses_new_ones_and_recovers(disk_daemon: RunningDaemon) -> None:
    daemon, data = disk_daemon, disk_daemon.data_dir
    client = daemon.client()
    before = disk_status(daemon)
    assert before["path"] == str(data) and before["low"] is False and before["full"] is False
    assert (data / "sweatpants.db.reserve").stat().st_size == RESERVE_BYTES

    jobs, waiting = fill_the_disk(daemon)

    for job in jobs:
        # Each job ends failed, says the disk is full and where, and its process is gone.
        assert job["status"] == "failed", job
        assert job["error"].startswith(f"disk full: no room left in {data} "), job["error"]
        assert job["pid"] is None and job["exit_code"] == -9  # killed: nothing more to ingest
        assert any("disk full" in entry["message"] for entry in daemon.logs(job["id"]))
        # What it stored before stays readable, every row of it, in order.
        stored = daemon.results(job["id"])
        assert len(stored) == job["result_count"] < RESULTS
        assert [row["i"] for row in stored] == list(range(len(stored)))
        # It has ended, so there is nothing to stop.
        stop = client.post(f"/jobs/{job['id']}/stop")
        assert stop.status_code == 409 and "(failed)" in stop.json()["detail"]
    first = daemon.results(jobs[0]["id"])[0]
    assert len(json.dumps(first, separators=(", ", ": "))) == RESULT_BYTES
    # The disk was really used: over 1 MB of the 8 MB tmpfs holds results (how much exactly
    # depends on what else the data dir holds and when SQLite's WAL was checkpointed).
    assert sum(job["result_count"] for job in jobs) * RESULT_BYTES > 1_000_000

    # /status says so; new jobs get 507 naming the directory and the free space; the queued
    # job waits.
    disk = disk_status(daemon)
    assert disk["low"] is True and disk["full"] is True and disk["path"] == str(data)
    # The endings took little of the reserve (no WAL checkpoint grew the database meanwhile).
    assert disk["free_bytes"] > RESERVE_BYTES // 2
    assert str(data) in disk["message"] and "full" in disk["message"]
    refused = client.post("/jobs", json={"module_id": "counter", "inputs": {"n": 1}})
    assert refused.status_code == 507, refused.text
    body = refused.json()
    assert body["error"] == "insufficient_storage"
    assert str(data) in body["detail"] and " free" in body["detail"], body
    assert human_bytes(disk["free_bytes"]).split()[1] in body["detail"]
    assert daemon.job(waiting)["status"] == "pending"
    assert integrity(data / "sweatpants.db") == "ok"

    # The tray says so too (the real watcher polling the real daemon).
    snapshots: list[TraySnapshot] = []
    watcher = Watcher(daemon.url, daemon.headers(), snapshots.append, lambda _job: None, 0.2)
    watcher.start()
    try:
        low = wait_for(lambda: snapshots and snapshots[-1].disk_low, 10, what="tray: disk low")
        assert low and "Disk full" in snapshots[-1].tooltip and str(data) in snapshots[-1].tooltip

        # Space returns: no restart, the reserve is back, the waiting job runs, new jobs run.
        remount(data, BIGGER)
        wait_for(lambda: not disk_status(daemon)["low"], 15, what="disk no longer low")
        wait_for(lambda: not snapshots[-1].disk_low, 10, what="tray: disk fine again")
    finally:
        watcher.stop()
    assert (data / "sweatpants.db.reserve").stat().st_size == RESERVE_BYTES
    assert daemon.wait_job(waiting)["status"] == "completed"
    assert len(daemon.results(waiting)) == 50
    fresh = daemon.start_job("counter", inputs={"n": 1000})
    done = daemon.wait_job(fresh)
    assert done["status"] == "completed" and done["result_count"] == 1000
    assert daemon.process is not None and daemon.process.poll() is None  # the same daemon
    assert integrity(data / "sweatpants.db") == "ok"


def fill_every_byte(path: Path) -> Path:
    """A file that takes whatever room is left on the tmpfs (what another program might do)."""
    filler = path / "someone-elses-file"
    chunk = b"\xa5" * 65536
    with filler.open("wb") as handle:
        for _ in range(64 * 16):  # at most 64 MB, more than the tmpfs holds
            try:
                handle.write(chunk)
                handle.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                return filler
    raise AssertionError(f"{path} never filled up")


@pytest.mark.live
def test_an_ending_waits_in_memory_when_even_the_reserve_is_gone(
    disk_daemon: RunningDaemon,
) -> None:
    """Something else takes the room the reserve freed: a job stopped then still shows as
    stopped, POST /jobs still answers 507, and the end is stored once there is room."""
    daemon, data = disk_daemon, disk_daemon.data_dir
    _jobs, waiting = fill_the_disk(daemon)
    filler = fill_every_byte(data)
    assert disk_status(daemon)["free_bytes"] == 0

    stopped = daemon.client().post(f"/jobs/{waiting}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert daemon.job(waiting)["status"] == "stopped"
    refused = daemon.client().post("/jobs", json={"module_id": "counter", "inputs": {"n": 1}})
    assert refused.status_code == 507 and "0 B free" in refused.json()["detail"]
    # Any other request that finds no room answers 507 too, not 500: here a module install.
    source = write_module(data.parent / "sources", "another", COUNTER, inputs=N_INPUTS)
    install = daemon.client().post("/modules/install", json={"source_path": str(source)})
    assert install.status_code == 507, install.text
    assert install.json()["error"] == "insufficient_storage"
    assert "No space left on device" in install.json()["detail"]

    def stored_status() -> str:
        conn = sqlite3.connect(f"file:{data / 'sweatpants.db'}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (waiting,)).fetchone()
        finally:
            conn.close()
        return str(row[0])

    assert stored_status() == "pending"  # not stored yet: there is no room at all
    filler.unlink()
    wait_for(lambda: stored_status() == "stopped", 15, what="the stop to be stored")
    assert integrity(data / "sweatpants.db") == "ok"


@pytest.mark.live
def test_below_the_watermark_new_jobs_get_507_and_status_shows_it(
    make_daemon: Any,
) -> None:
    daemon: RunningDaemon = make_daemon(env={"SWEATPANTS_MIN_FREE_MB": str(10**9)})
    write_module(daemon.modules_dir, "counter", COUNTER, inputs=N_INPUTS)
    disk = disk_status(daemon)
    assert disk["low"] is True and disk["full"] is False
    assert disk["min_free_bytes"] == 10**9 * MB and disk["path"] == str(daemon.data_dir)
    response = daemon.client().post("/jobs", json={"module_id": "counter", "inputs": {"n": 1}})
    assert response.status_code == 507
    body = response.json()
    assert body["error"] == "insufficient_storage"
    assert str(daemon.data_dir) in body["detail"] and "SWEATPANTS_MIN_FREE_MB" in body["detail"]
    assert daemon.client().get("/jobs").json()["jobs"] == []


@pytest.mark.system
def test_store_keeps_final_states_writable_on_a_full_disk(small_disk: Path) -> None:
    """The writer on a real full tmpfs: bulk writes fail with InsufficientStorage, the
    reserve lets essential ones land, and later bulk writes are refused until space returns."""
    store = Store(small_disk / "sweatpants.db", min_free_bytes=MB)
    store.open()
    row = {**JOB_ROW, "id": "job-1", "status": "running"}

    async def scenario() -> int:
        await store.write(lambda c: job_sql.insert(c, row))
        seq = 0
        failure: InsufficientStorage | None = None
        for _ in range(10_000):  # 8 MB fills long before 10,000 batches of 200 kB
            rows = [(seq + i + 1, 0.0, "x" * 200) for i in range(1000)]
            try:
                await store.write(partial(result_sql.append, job_id="job-1", rows=rows))
            except InsufficientStorage as exc:
                failure = exc
                break
            seq += len(rows)
        assert failure is not None and str(small_disk) in failure.detail
        assert store.space.full and not store.space.reserve_path.exists()
        with pytest.raises(InsufficientStorage):  # refused at once: the reserve is for endings
            await store.write(lambda c: result_sql.append(c, "job-1", [(seq + 1, 0.0, "y")]))
        await store.write(
            lambda c: job_sql.finish(
                c,
                "job-1",
                status="failed",
                now=1.0,
                error="disk full",
                traceback=None,
                exit_code=None,
            ),
            essential=True,
        )
        return seq

    stored = asyncio.run(scenario())
    status = store.reader().execute("SELECT status, error FROM jobs").fetchone()
    assert tuple(status) == ("failed", "disk full")
    count = store.reader().execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert count == stored > 0
    assert not store.space.recover()  # still no room for the minimum plus the reserve
    remount(small_disk, BIGGER)
    assert store.space.recover() and not store.space.full
    assert store.space.reserve_path.stat().st_size == RESERVE_BYTES
    store.close()
    assert integrity(small_disk / "sweatpants.db") == "ok"


@pytest.mark.system
def test_jobs_left_running_wait_for_room_to_be_requeued(small_disk: Path) -> None:
    """The scheduler starting on a disk too full even to requeue the jobs a dead daemon left
    `running`: it starts anyway, shows them as pending, and requeues them once there is room."""
    from sweatpants.engine import make_executors
    from sweatpants.events import EventBus
    from sweatpants.jobs.manager import JobManager
    from sweatpants.modules.registry import ModuleRegistry

    settings = Settings(data_dir=small_disk, min_free_mb=1)
    settings.modules_path.mkdir()
    store = Store(settings.database_path, min_free_bytes=MB)
    store.open()
    row = {**JOB_ROW, "id": "left-running", "status": "running"}

    def stored_status() -> str:
        found = store.reader().execute("SELECT status FROM jobs WHERE id = 'left-running'")
        return str(found.fetchone()[0])

    async def scenario() -> None:
        await store.write(lambda c: job_sql.insert(c, row))
        # Made before the disk fills: it writes the secrets key, as the daemon that left the
        # job running did at its own start.
        registry = ModuleRegistry(settings)
        manager = JobManager(settings, store, registry, EventBus(), make_executors(settings), {})
        store.space.spend_reserve()  # as a failed write would
        filler = fill_every_byte(small_disk)
        await manager.start()
        try:
            assert (await manager.get("left-running")).status == "pending"
            assert stored_status() == "running"  # no room to say otherwise yet
            filler.unlink()
            for _ in range(150):  # the space watch looks once a second
                if stored_status() != "running":
                    break
                await asyncio.sleep(0.1)
            assert stored_status() != "running"
        finally:
            await manager.shutdown()

    try:
        asyncio.run(scenario())
    finally:
        store.close()
    assert integrity(small_disk / "sweatpants.db") == "ok"


@pytest.mark.system
def test_a_disk_event_follows_each_change_low_then_full_then_fine(small_disk: Path) -> None:
    """The space watch on a real tmpfs publishes a `disk` event whenever `low` or `full`
    changes. The disk can be seen low (here 0 B free) before any write has failed for lack
    of space; when one then fails, `low` stays true but `full` turns true, and that must be
    published too, or the dashboard keeps saying "Low disk space" on a full disk."""
    from sweatpants.events import EventBus
    from sweatpants.jobs.space_watch import SpaceWatch
    from sweatpants.store.space import Space

    space = Space(small_disk / "sweatpants.db", MB)
    space.open()
    events = EventBus()
    seen: list[dict[str, Any]] = []

    async def look(_state: object) -> None:
        return None

    async def scenario() -> None:
        queue = events.subscribe()
        watch = SpaceWatch(space, events, look, interval=0.05)

        async def next_disk() -> dict[str, Any]:
            event = await asyncio.wait_for(queue.get(), 15)
            assert event is not None and event["type"] == "disk", event
            seen.append(event["disk"])
            return seen[-1]

        watch.start()
        try:
            first = await next_disk()
            assert first["low"] is False and first["full"] is False
            filler = fill_every_byte(small_disk)  # no write of ours has failed yet
            low = await next_disk()
            assert low["low"] is True and low["full"] is False and low["free_bytes"] == 0
            assert space.spend_reserve()  # as the writer does when a write fails for room
            full = await next_disk()
            assert full["low"] is True and full["full"] is True
            assert "is full" in full["message"] and str(small_disk) in full["message"]
            filler.unlink()
            fine = await next_disk()
            assert fine["low"] is False and fine["full"] is False and fine["message"] is None
        finally:
            watch.stop()
        assert queue.empty(), f"a disk event that changed nothing: {queue.get_nowait()}"

    asyncio.run(scenario())
    assert [(d["low"], d["full"]) for d in seen] == [
        (False, False),
        (True, False),
        (True, True),
        (False, False),
    ]
    assert space.reserve_path.stat().st_size == RESERVE_BYTES


def test_full_disk_errors_are_recognised() -> None:
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA max_page_count = 2")  # SQLite's own "full": SQLITE_FULL too
        conn.execute("CREATE TABLE t (x)")
        with pytest.raises(sqlite3.OperationalError) as full:
            conn.executemany("INSERT INTO t VALUES (?)", [("x" * 1000,)] * 100)
    finally:
        conn.close()
    assert "database or disk is full" in str(full.value) and is_disk_full(full.value)
    assert is_disk_full(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    assert not is_disk_full(OSError(errno.EACCES, "denied"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: t"))
    assert not is_disk_full(ValueError("database or disk is full"))
    copy_failed = shutil.Error([("a", "b", "[Errno 28] No space left on device: 'b'")])
    assert is_disk_full(copy_failed)
    assert not is_disk_full(shutil.Error([("a", "b", "[Errno 13] Permission denied: 'b'")]))


def test_min_free_mb_setting_is_validated() -> None:
    assert Settings().min_free_mb == 100
    assert Settings.load({"SWEATPANTS_MIN_FREE_MB": "0.5"}).min_free_mb == 0.5
    assert Settings.load({"SWEATPANTS_MIN_FREE_MB": "0"}).min_free_mb == 0
    for bad in ("-1", "lots", "inf", "nan"):
        with pytest.raises(ConfigError) as error:
            Settings.load({"SWEATPANTS_MIN_FREE_MB": bad})
        assert "SWEATPANTS_MIN_FREE_MB" in error.value.detail


def test_tray_snapshot_shows_low_disk() -> None:
    status = {
        "counts": {"running": 0, "pending": 1},
        "disk": {"low": True, "full": True, "free_bytes": 3 * MB, "path": "/data/sp"},
    }
    snapshot = StatusTracker().snapshot(status)
    assert snapshot.disk_low and snapshot.state.value == "failed"
    assert snapshot.status_line.startswith("Disk full: 3.0 MB free in /data/sp")
    assert snapshot.tooltip.startswith("Sweatpants: Disk full")
    status["disk"] = {"low": True, "full": False, "free_bytes": 50 * MB, "path": "/data/sp"}
    assert StatusTracker().snapshot(status).status_line.startswith("Disk low: 50.0 MB free")
    fine = StatusTracker().snapshot({"counts": {}, "disk": {"low": False, "free_bytes": 1}})
    assert not fine.disk_low and fine.status_line == "Idle (0 running)"


@pytest.mark.live
@pytest.mark.browser
def test_dashboard_shows_a_banner_while_the_disk_is_full(disk_daemon: RunningDaemon) -> None:
    """Real Chromium on the real dashboard: the banner comes with the `disk` event, names
    the directory, and goes away by itself once the tmpfs is made bigger. The disk is often
    seen low (down to 0 B free) before a write fails; the banner must still turn to "Disk
    full" once one has (the `disk` event for `full` turning true)."""
    from playwright.sync_api import expect

    from tests.support.browser import ConsoleWatch, launch_chromium, screenshot

    daemon, data = disk_daemon, disk_daemon.data_dir
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{daemon.url}/#/overview")
        expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        banner = page.locator("#disk-banner")
        expect(banner).to_be_hidden(timeout=WAIT_MS)

        jobs, _waiting = fill_the_disk(daemon)
        assert [job["status"] for job in jobs] == ["failed"] * FILLERS
        assert disk_status(daemon)["full"] is True  # what the banner must come to show
        expect(banner).to_be_visible(timeout=WAIT_MS)
        expect(banner).to_contain_text("Disk full", timeout=WAIT_MS)
        expect(banner).to_contain_text(str(data), timeout=WAIT_MS)
        screenshot(page, "disk-full-banner")
        page.goto(f"{daemon.url}/#/jobs")  # on every page, not only the one it appeared on
        expect(banner).to_be_visible(timeout=WAIT_MS)
        page.reload()  # a page opened now reads it from /status
        expect(banner).to_contain_text("Disk full", timeout=WAIT_MS)

        remount(data, BIGGER)
        expect(banner).to_be_hidden(timeout=WAIT_MS)
        context.close()
    assert watch.unexpected() == []
