"""A job's timeline (`GET /jobs/{id}/timeline`) and jobs per day (`GET /stats/jobs`).

Rows are written through the store with known timestamps (the same functions the daemon's
writer calls), then read through the real app: the counts, rates and progress per bucket are
what was written. The migration that adds the activity slots fills them from rows already
stored; a resumed job's dropped results leave its counts.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from sweatpants.api import schemas
from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store import timeline as timeline_sql
from sweatpants.store.db import connect
from sweatpants.store.schema import MIGRATIONS, migrate
from tests.support.browser import ConsoleWatch, launch_chromium, screenshot
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module
from tests.test_openapi import roundtrip

T0 = 1_699_999_200.0  # a whole hour, so every slot size lines up with it


def new_job(conn: sqlite3.Connection, *, created: float = T0, module_id: str = "m") -> str:
    job_id = str(uuid.uuid4())
    job_sql.insert(
        conn,
        {
            "id": job_id,
            "module_id": module_id,
            "status": "pending",
            "inputs": "{}",
            "settings": "{}",
            "max_duration": None,
            "max_seconds": None,
            "created_at": created,
            "executor": "local",
        },
    )
    return job_id


def ask(data_dir: Path, *paths: str) -> list[httpx.Response]:
    """GET each path from the real app (reads need no running engine)."""
    app = create_app(Settings.load({"SWEATPANTS_DATA_DIR": str(data_dir)}))

    async def fetch() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8420") as c:
            return [await c.get(path) for path in paths]

    return asyncio.run(fetch())


def database(tmp_path: Path) -> tuple[Path, sqlite3.Connection]:
    data_dir = tmp_path / "data"
    path = Settings.load({"SWEATPANTS_DATA_DIR": str(data_dir)}).database_path
    Store(path).close()
    return data_dir, connect(path)


def test_timeline_counts_what_was_stored_when(tmp_path: Path) -> None:
    data_dir, conn = database(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    job_id = new_job(conn)
    job_sql.mark_running(conn, job_id, now=T0 + 0.4, pid=None, node="local")
    # 1,000 results, one every 0.1 s from T0: 100 per 10-second bucket.
    result_sql.append(conn, job_id, [(i + 1, T0 + i * 0.1, "{}") for i in range(600)])
    result_sql.append(conn, job_id, [(i + 1, T0 + i * 0.1, "{}") for i in range(600, 1000)])
    # 300 log lines between 50 s and 53 s, and 7 at 95.5 s.
    log_sql.append(conn, job_id, [(T0 + 50 + i * 0.01, "INFO", "x") for i in range(300)])
    log_sql.append(conn, job_id, [(T0 + 95.5, "INFO", "y")] * 7)
    timeline_sql.sample_progress(conn, job_id, T0 + 31, 2, 10)
    timeline_sql.sample_progress(conn, job_id, T0 + 35, 5, 10)  # the later one in its bucket
    timeline_sql.sample_progress(conn, job_id, T0 + 72, 9, None)
    job_sql.finish(
        conn, job_id, status="completed", now=T0 + 100, error=None, traceback=None, exit_code=0
    )
    conn.execute("COMMIT")

    [answer, short_id, default] = ask(
        data_dir,
        f"/jobs/{job_id}/timeline?buckets=10",
        f"/jobs/{job_id[:8]}/timeline?buckets=10",
        f"/jobs/{job_id}/timeline",
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == job_id and body["status"] == "completed"
    assert body["start"] == "2023-11-14T22:00:00.000Z"
    assert body["end"] == "2023-11-14T22:01:40.000Z"
    assert body["bucket_seconds"] == 10
    assert body["time"] == [int(T0) + 10 * i for i in range(10)]
    assert body["results"] == [100] * 10
    # The job started 0.4 s into its first bucket: that bucket's rate is over 9.6 s.
    assert body["results_per_second"] == [round(100 / 9.6, 3)] + [10.0] * 9
    assert body["logs"] == [0, 0, 0, 0, 0, 300, 0, 0, 0, 7]
    assert body["logs_per_second"] == [0, 0, 0, 0, 0, 30.0, 0, 0, 0, 0.7]
    assert body["progress_done"] == [None, None, None, 5, 5, 5, 5, 9, 9, 9]
    assert body["progress_total"] == [None, None, None, 10, 10, 10, 10, None, None, None]
    assert short_id.json() == body  # a unique id prefix names the job, as everywhere
    roundtrip(schemas.Timeline, body)  # sent as built: the model describes it exactly

    # The default asks for 200 buckets; a 100-second job gets 100 one-second buckets.
    whole = default.json()
    assert whole["bucket_seconds"] == 1 and len(whole["time"]) == 100
    assert sum(whole["results"]) == 1000 and sum(whole["logs"]) == 307
    assert whole["results"][:3] == [10, 10, 10]
    assert whole["logs"][50:54] == [100, 100, 100, 0] and whole["logs"][95] == 7


def test_long_jobs_read_minutes_or_hours_and_sum_the_same(tmp_path: Path) -> None:
    data_dir, conn = database(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    job_id = new_job(conn)
    job_sql.mark_running(conn, job_id, now=T0, pid=None, node="local")
    # One result a minute for 3 days (4,320), and a log line every 7 minutes.
    result_sql.append(conn, job_id, [(i + 1, T0 + 60 * i + 5, "{}") for i in range(4320)])
    log_sql.append(conn, job_id, [(T0 + 420 * i, "INFO", "x") for i in range(617)])
    job_sql.finish(
        conn,
        job_id,
        status="stopped",
        now=T0 + 3 * 86400,
        error=None,
        traceback=None,
        exit_code=None,
    )
    conn.execute("COMMIT")
    spans = dict(
        conn.execute(
            "SELECT span, sum(results) FROM job_activity WHERE job_id = ? GROUP BY span",
            (job_id,),
        ).fetchall()
    )
    assert spans == {1: 4320, 60: 4320, 3600: 4320}
    [hours, minutes] = ask(
        data_dir, f"/jobs/{job_id}/timeline?buckets=72", f"/jobs/{job_id}/timeline?buckets=1000"
    )
    by_hour = hours.json()
    assert by_hour["bucket_seconds"] == 3600 and by_hour["results"] == [60] * 72
    assert sum(by_hour["logs"]) == 617
    by_minutes = minutes.json()
    assert by_minutes["bucket_seconds"] == 300  # 259,200 s / 1,000 rounded up to whole minutes
    assert len(by_minutes["time"]) == 864 and set(by_minutes["results"]) == {5}
    assert by_minutes["results_per_second"][0] == round(5 / 300, 3)


@pytest.mark.parametrize(
    ("start", "end", "buckets"),
    [
        (T0, T0 + 100, 10),
        (T0 + 0.7, T0 + 0.9, 200),
        (T0 + 17, T0 + 86_400 * 30, 200),
        (T0 + 5, T0 + 12_345, 1000),
        (T0, T0 + 1, 1),
    ],
)
def test_plan_covers_the_range_in_whole_slots(start: float, end: float, buckets: int) -> None:
    cut = timeline_sql.plan(start, end, buckets)
    assert 1 <= cut.n_buckets <= buckets
    assert cut.width % cut.span == 0 and cut.start % cut.span == 0
    assert cut.start <= start and cut.start + cut.n_buckets * cut.width >= end


def test_a_resumed_job_uncounts_the_results_it_dropped(tmp_path: Path) -> None:
    _, conn = database(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    job_id = new_job(conn)
    result_sql.append(conn, job_id, [(i + 1, T0 + i, "{}") for i in range(10)])
    job_sql.save_checkpoint(conn, job_id, "{}", 4)
    assert job_sql.prepare_resume(conn, job_id) == 6
    conn.execute("COMMIT")
    counted = conn.execute(
        "SELECT span, sum(results) FROM job_activity WHERE job_id = ? GROUP BY span", (job_id,)
    ).fetchall()
    assert dict(counted) == {1: 4, 60: 4, 3600: 4}


def test_the_migration_counts_rows_stored_before_it(tmp_path: Path) -> None:
    """A database from before migration 6 (rows, no activity) gets its slots filled."""
    position = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE job_activity" in m)
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for migration in MIGRATIONS[:position]:
        for statement in migration.split(";"):
            if statement.strip():
                conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {position}")
    conn.execute(
        "INSERT INTO jobs (id, module_id, status, inputs, settings, created_at, started_at, "
        "completed_at, progress_done, progress_total) "
        "VALUES ('j1', 'm', 'completed', '{}', '{}', ?, ?, ?, 7, 8)",
        (T0, T0, T0 + 7200.5),
    )
    conn.executemany(
        "INSERT INTO results (job_id, seq, ts, data) VALUES ('j1', ?, ?, '{}')",
        [(i + 1, T0 + 30 * i + 0.5) for i in range(200)],  # 100 minutes, 2 a minute
    )
    conn.executemany(
        "INSERT INTO logs (job_id, ts, level, message) VALUES ('j1', ?, 'INFO', 'x')",
        [(T0 + 45 * i,) for i in range(100)] + [(T0 + 30.9,)],  # one shares a result's second
    )
    migrate(conn)
    rows = conn.execute(
        "SELECT span, sum(results), sum(logs), count(*) FROM job_activity GROUP BY span"
    ).fetchall()
    # Seconds with a result: 200; with a log line but no result: 50 (45 s apart, the odd
    # ones); the final progress sample's second: 1 more (hour 2 holds nothing else).
    assert rows == [(1, 200, 101, 251), (60, 200, 101, 101), (3600, 200, 101, 3)]
    sampled = conn.execute(
        "SELECT span, slot, progress_done, progress_total FROM job_activity "
        "WHERE progress_done IS NOT NULL ORDER BY span"
    ).fetchall()
    assert sampled == [
        (1, int(T0) + 7200, 7, 8),
        (60, int(T0) + 7200, 7, 8),
        (3600, int(T0) + 7200, 7, 8),
    ]
    conn.close()


def test_jobs_per_day_and_busiest_modules(tmp_path: Path) -> None:
    data_dir, conn = database(tmp_path)
    now = time.time()
    today = datetime.fromtimestamp(now).date()

    def noon(days_ago: int) -> float:
        day = today - timedelta(days=days_ago)
        return datetime.combine(day, datetime.min.time()).timestamp() + 12 * 3600

    conn.execute("BEGIN IMMEDIATE")
    made: list[tuple[int, str, str]] = [
        (0, "alpha", "completed"),
        (0, "alpha", "failed"),
        (0, "beta", "completed"),
        (1, "alpha", "completed"),
        (6, "beta", "stopped"),
        (6, "beta", "failed"),
        (6, "gamma", "completed"),
        (7, "alpha", "completed"),  # a week ago: outside 7 days
    ]
    for days_ago, module_id, status in made:
        job_id = new_job(conn, created=noon(days_ago), module_id=module_id)
        job_sql.mark_running(conn, job_id, now=noon(days_ago), pid=None, node="local")
        result_sql.append(conn, job_id, [(1, noon(days_ago), "{}")])
        job_sql.add_counts(conn, job_id, results=1, logs=0)
        job_sql.finish(
            conn,
            job_id,
            status=status,
            now=noon(days_ago) + 90,
            error=None,
            traceback=None,
            exit_code=None,
        )
    conn.execute("COMMIT")
    [week, bad, too_many] = ask(
        data_dir, "/stats/jobs?days=7", "/stats/jobs?days=0", "/stats/jobs?days=9999"
    )
    body: dict[str, Any] = week.json()
    assert body["days"] == 7
    assert [d["date"] for d in body["per_day"]] == [
        (today - timedelta(days=n)).isoformat() for n in range(6, -1, -1)
    ]
    assert body["per_day"][-1] == {
        "date": today.isoformat(),
        "pending": 0,
        "running": 0,
        "completed": 2,
        "failed": 1,
        "stopped": 0,
    }
    assert body["per_day"][0]["failed"] == 1 and body["per_day"][0]["stopped"] == 1
    assert body["modules"] == [
        {"module_id": "alpha", "jobs": 3, "failed": 1, "results": 3, "run_seconds": 270.0},
        {"module_id": "beta", "jobs": 3, "failed": 1, "results": 3, "run_seconds": 270.0},
        {"module_id": "gamma", "jobs": 1, "failed": 0, "results": 1, "run_seconds": 90.0},
    ]
    roundtrip(schemas.JobStats, body)
    for answer in (bad, too_many):
        assert answer.status_code == 422
        assert answer.json()["field"] == "days"


@pytest.mark.parametrize("buckets", ["0", "-3", "1001", "ten", "2.5"])
def test_bad_buckets_are_422_naming_the_field(tmp_path: Path, buckets: str) -> None:
    data_dir, conn = database(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    job_id = new_job(conn)
    conn.execute("COMMIT")
    [answer, missing] = ask(
        data_dir, f"/jobs/{job_id}/timeline?buckets={buckets}", "/jobs/nosuchjob/timeline"
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "buckets"
    assert answer.json()["error"] == "invalid_input"
    assert missing.status_code == 404


def test_a_pending_job_has_an_empty_timeline_up_to_now(tmp_path: Path) -> None:
    data_dir, conn = database(tmp_path)
    conn.execute("BEGIN IMMEDIATE")
    job_id = new_job(conn, created=time.time() - 30)
    conn.execute("COMMIT")
    [answer] = ask(data_dir, f"/jobs/{job_id}/timeline?buckets=5")
    body = answer.json()
    assert body["status"] == "pending" and body["bucket_seconds"] >= 6
    assert len(body["time"]) <= 5 and body["time"][0] <= time.time() - 30
    assert set(body["results"]) == {0} and set(body["progress_done"]) == {None}


# ----- in Chromium, against a real daemon --------------------------------------------------

FLOOD = """
from sweatpants import Module


class Flood(Module):
    async def run(self, inputs, settings):
        total = int(inputs.get("count", 100000))
        await self.log("flooding")
        for i in range(total):
            yield {"i": i}
            if i % 10000 == 9999:
                await self.progress(i + 1, total)
                await self.log(f"{i + 1} results")
"""

TRICKLE = """
import asyncio
from sweatpants import Module


class Trickle(Module):
    async def run(self, inputs, settings):
        for i in range(600):  # at most a minute
            if self.is_cancelled:
                return
            yield {"i": i}
            await self.progress(i + 1, 600)
            await asyncio.sleep(0.1)
"""

COUNT_INPUT = [{"id": "count", "type": "integer", "default": 100000}]


@pytest.fixture(scope="module")
def chart_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    data_dir = tmp_path_factory.mktemp("charts") / "data"
    write_module(data_dir / "modules", "flood", FLOOD, inputs=COUNT_INPUT)
    write_module(data_dir / "modules", "trickle", TRICKLE)
    daemon = RunningDaemon(data_dir).start()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


@pytest.mark.live
@pytest.mark.browser
def test_the_job_page_of_a_100k_result_job_draws_its_chart(
    chart_daemon: RunningDaemon, chromium: Any
) -> None:
    job_id = chart_daemon.start_job("flood", inputs={"count": 100_000})
    job = chart_daemon.wait_job(job_id, timeout=120)
    assert job["status"] == "completed" and job["result_count"] == 100_000
    timeline = chart_daemon.client().get(f"/jobs/{job_id}/timeline").json()
    assert sum(timeline["results"]) == 100_000 and sum(timeline["logs"]) == 11
    assert [d for d in timeline["progress_done"] if d is not None][-1] == 100_000

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{chart_daemon.url}/#/jobs/{job_id}")
        figure = page.locator("#job-timeline")
        expect(figure).to_have_attribute("data-drawn", str(len(timeline["time"])), timeout=20_000)
        expect(figure.locator("canvas")).to_have_count(1)
        expect(figure.locator(".chart-summary")).to_contain_text("100,000 results and 11 log lines")
        box = figure.locator("canvas").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        screenshot(page, "job-timeline")
        assert watch.unexpected() == []
    finally:
        context.close()


@pytest.mark.live
@pytest.mark.browser
def test_a_running_job_extends_its_chart_from_progress_events(
    chart_daemon: RunningDaemon, chromium: Any
) -> None:
    job_id = chart_daemon.start_job("trickle")
    chart_daemon.wait_job(job_id, ("running",), timeout=60)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{chart_daemon.url}/#/jobs/{job_id}")
        figure = page.locator("#job-timeline")
        expect(figure).to_have_attribute("data-drawn", re.compile(r"\d+"), timeout=20_000)
        first = int(figure.get_attribute("data-drawn") or 0)
        # Progress events come every 0.5 s; each one after the first adds a point.
        page.wait_for_function(
            f"Number(document.querySelector('#job-timeline').dataset.drawn) >= {first + 3}",
            timeout=20_000,
        )
        assert watch.unexpected() == []
    finally:
        context.close()
        chart_daemon.client().post(f"/jobs/{job_id}/stop")
        chart_daemon.wait_job(job_id, timeout=60)


def test_the_docs_state_the_code_s_limits() -> None:
    """docs/api.md and docs/dashboard.md say what the code does (limits, defaults, versions)."""
    from sweatpants.api.routes import activity

    root = Path(__file__).resolve().parent.parent
    api_doc = " ".join((root / "docs" / "api.md").read_text().split())
    dashboard_doc = " ".join((root / "docs" / "dashboard.md").read_text().split())
    assert f"`?buckets=200` (1 to {activity.MAX_BUCKETS:,})" in api_doc
    assert f"`?days=30` (1 to {activity.MAX_DAYS})" in api_doc
    assert "buckets outside 1 to 1,000" in api_doc.replace("`buckets` outside", "buckets outside")
    assert "the ten modules with the most of them" in api_doc
    views = root / "ui" / "js" / "views"
    assert "{ buckets: 200 }" in (views / "job-detail.js").read_text()
    assert "{ module_id: id, limit: 100 }" in (views / "module-detail.js").read_text()
    assert "{ days: 30 }" in (views / "overview.js").read_text()
    assert "the last 100 runs" in dashboard_doc and "the last 30 days" in dashboard_doc
    uplot = root / "ui" / "vendor" / "uplot" / "uPlot.esm.js"
    assert "(v1.6.32)" in uplot.read_text()[:400] and "uPlot) 1.6.32 (MIT)" in dashboard_doc
    assert 140_000 < uplot.stat().st_size < 150_000 and "ES module of 145 KB" in dashboard_doc
    assert (root / "ui" / "vendor" / "uplot" / "LICENSE").read_text().startswith("The MIT License")
