"""Finding jobs: `GET /jobs` with q, since/until, trigger, schedule_id and sort, a keyset page
at a time; bad input is a 422 naming the field. Jobs are written through the store into a
real SQLite file and read through the app in process (`httpx.ASGITransport`)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.jobs.search import parse_time
from sweatpants.store import Store, job_search, schema
from sweatpants.store import jobs as job_sql
from sweatpants.store.db import connect
from tests.support.modules import write_module

DAY = 86400.0
NOW = time.time()


def job_row(module_id: str, inputs: dict[str, Any], created_at: float) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "module_id": module_id,
        "status": "pending",
        "inputs": json.dumps(inputs),
        "settings": "{}",
        "max_duration": None,
        "max_seconds": None,
        "created_at": created_at,
        "executor": "local",
    }


class Jobs:
    """A data dir with jobs written through the store, and the app over it."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings.load({"SWEATPANTS_DATA_DIR": str(tmp_path / "data")})
        self.store = Store(self.settings.database_path)
        self.store.open()
        self.ids: dict[str, str] = {}
        self.app = create_app(self.settings)  # not started: reads need only the database

    def add(
        self,
        name: str,
        module_id: str,
        inputs: dict[str, Any],
        *,
        age_days: float,
        error: str | None = None,
        results: int = 0,
        ran: float | None = None,
        **columns: Any,
    ) -> str:
        row = job_row(module_id, inputs, NOW - age_days * DAY)

        def write(conn: Any) -> None:
            job_sql.insert(conn, row)
            conn.execute("UPDATE jobs SET result_count = ? WHERE id = ?", (results, row["id"]))
            for column, value in columns.items():
                conn.execute(f"UPDATE jobs SET {column} = ? WHERE id = ?", (value, row["id"]))
            if ran is not None:
                conn.execute("UPDATE jobs SET started_at = created_at WHERE id = ?", (row["id"],))
                job_sql.finish(
                    conn,
                    row["id"],
                    status="failed" if error else "completed",
                    now=row["created_at"] + ran,
                    error=error,
                    traceback=None,
                    exit_code=0,
                )

        future = self.store.writer.submit(write, wait=True)
        assert future is not None
        future.result(timeout=30)
        self.ids[name] = row["id"]
        return str(row["id"])

    def get(self, **params: Any) -> httpx.Response:
        app = self.app

        async def fetch() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                return await c.get("/jobs", params=params)

        return asyncio.run(fetch())

    def names(self, **params: Any) -> list[str]:
        answer = self.get(**params)
        assert answer.status_code == 200, answer.text
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[job["id"]] for job in answer.json()["jobs"]]


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[Jobs]:
    made = Jobs(tmp_path)
    sealed = {"$sealed": "gAAAAABsecretciphertext"}
    made.add("shop", "scraper", {"url": "https://Shop.example/Shoes", "key": sealed}, age_days=5)
    made.add(
        "nested",
        "crawler",
        {"seeds": ["https://docs.example/a", {"deep": "Needle-In-Json"}]},
        age_days=3,
        ran=600,
        results=7,
    )
    made.add(
        "broken",
        "scraper",
        {"url": "https://down.example"},
        age_days=1,
        error="HTTP 503 Gateway",
        ran=5,
        results=40,
    )
    made.add(
        "fresh",
        "mailer",
        {"to": "ann@example.org"},
        age_days=0.01,
        trigger="schedule",
        schedule_id="sch-1",
    )
    made.add("hidden", "mailer", {"password": {"$sealed": "gAAAAABhunter2hunter2"}}, age_days=2)
    yield made
    made.store.close()


def test_q_matches_module_error_input_values_and_id_prefix(jobs: Jobs) -> None:
    assert jobs.names(q="scrap") == ["broken", "shop"]  # part of a module id, newest first
    assert jobs.names(q="gateway") == ["broken"]  # the error, case-insensitive
    assert jobs.names(q="shop.EXAMPLE/shoes") == ["shop"]  # an input value
    assert jobs.names(q="needle-in-json") == ["nested"]  # a value inside a json input
    assert jobs.names(q=jobs.ids["fresh"][:8]) == ["fresh"]  # an id prefix
    assert jobs.names(q="nothing like this") == []


def test_secret_values_never_match(jobs: Jobs) -> None:
    """Sealed values are left out of what is searched: their ciphertext matches nothing."""
    for q in ("gAAAAAB", "secretciphertext", "hunter2", "$sealed", "sealed"):
        assert jobs.names(q=q) == [], q
    assert jobs.names(q="mailer") == ["fresh", "hidden"]  # the jobs themselves are there


def test_since_until_trigger_and_schedule(jobs: Jobs) -> None:
    assert jobs.names(since="2d") == ["fresh", "broken"]
    assert jobs.names(since="4d", until="2.5d") == ["nested"]
    day = time.strftime("%Y-%m-%d", time.gmtime(NOW - 4 * DAY))
    assert "shop" not in jobs.names(since=day) and "nested" in jobs.names(since=day)
    assert jobs.names(until="2000-01-01T00:00:00Z") == []
    assert jobs.names(trigger="schedule") == ["fresh"]
    assert jobs.names(schedule_id="sch-1") == ["fresh"]
    assert jobs.names(q="example", status="failed") == ["broken"]


def test_sorts_by_duration_and_results(jobs: Jobs) -> None:
    assert jobs.names(sort="results")[:2] == ["broken", "nested"]
    assert jobs.names(sort="results", order="asc")[-2:] == ["nested", "broken"]
    assert jobs.names(sort="duration")[:2] == ["nested", "broken"]  # unfinished jobs last
    assert jobs.names(sort="created", order="asc") == [
        "shop",
        "nested",
        "hidden",
        "broken",
        "fresh",
    ]


@pytest.mark.parametrize(
    ("sort", "order"),
    [("created", "desc"), ("created", "asc"), ("results", "desc"), ("duration", "asc")],
)
def test_keyset_pages_carry_the_sort_key(jobs: Jobs, sort: str, order: str) -> None:
    for n in range(12):  # ties on the sort key: the id breaks them
        jobs.add(f"tie{n}", "tied", {"n": n}, age_days=6, results=3, ran=10)
    everything = jobs.names(sort=sort, order=order, limit=1000)
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        answer = jobs.get(sort=sort, order=order, limit=4, **({"before": cursor} if cursor else {}))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        by_id = {v: k for k, v in jobs.ids.items()}
        seen += [by_id[job["id"]] for job in page["jobs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if (sort, order) == ("created", "desc"):
            assert cursor == page["jobs"][-1]["id"]  # the default order's cursor is an id
        else:
            assert cursor.startswith(f"k1:{sort}:{order}:")
    assert seen == everything and len(everything) == 17


def test_many_matches_walk_the_jobs_in_order(jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `FEW` text matches the other plan is used; it answers the same."""
    few = {key: jobs.names(q=key, sort="results") for key in ("example", "mailer", "scrap")}
    monkeypatch.setattr(job_search, "FEW", 1)
    for key, names in few.items():
        assert jobs.names(q=key, sort="results") == names


def test_text_follows_changes_and_deletes(jobs: Jobs) -> None:
    job_id = jobs.ids["shop"]

    def change(conn: Any) -> None:
        job_sql.finish(
            conn,
            job_id,
            status="failed",
            now=NOW,
            error="Quota Exhausted",
            traceback=None,
            exit_code=1,
        )

    future = jobs.store.writer.submit(change, wait=True)
    assert future is not None
    future.result(timeout=30)
    assert jobs.names(q="quota exhausted") == ["shop"]
    future = jobs.store.writer.submit(
        lambda conn: conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)), wait=True
    )
    assert future is not None
    future.result(timeout=30)
    rows = jobs.store.reader().execute("SELECT count(*) FROM job_text WHERE job_id = ?", (job_id,))
    assert rows.fetchone()[0] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-13-45"}, "since"),
        ({"until": "5 parsecs"}, "until"),
        ({"sort": "size"}, "sort"),
        ({"order": "up"}, "order"),
        ({"trigger": "cron"}, "trigger"),
        ({"sort": "results", "before": "k1:duration:desc:5.0:abc"}, "before"),
        ({"sort": "results", "before": "k1:results:desc:five:abc"}, "before"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    jobs: Jobs, params: dict[str, str], field: str
) -> None:
    answer = jobs.get(**params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "invalid_input" and body["field"] == field, body


def test_parse_time_forms() -> None:
    assert parse_time("2d", "since", 1000.0 + 2 * DAY) == pytest.approx(1000.0)
    assert parse_time("1h30m", "since", 10_000.0) == pytest.approx(10_000.0 - 5400)
    assert parse_time("2026-03-01", "since", 0) == parse_time("2026-03-01T00:00:00Z", "since", 0)
    assert parse_time("2026-03-01T01:00:00+01:00", "since", 0) == parse_time(
        "2026-03-01", "since", 0
    )


def test_secrets_stored_in_clear_before_sealing_never_match(jobs: Jobs) -> None:
    """A row from before secrets were sealed holds its secret in clear (and so does its
    search text): the daemon drops such a match by the module's manifest, and keeps paging."""
    write_module(
        jobs.settings.modules_path,
        "legacy",
        "from sweatpants import Module\n",
        inputs=[{"id": "password", "type": "secret"}, {"id": "site", "type": "text"}],
    )
    old = jobs.add(
        "old", "legacy", {"password": "hunter2-plain", "site": "old.example"}, age_days=9
    )
    for n in range(3):
        jobs.add(
            f"later{n}",
            "legacy",
            {"password": "", "site": "hunter2-plain.example"},
            age_days=8 - n / 10,
        )
    assert jobs.names(q="hunter2-plain") == ["later2", "later1", "later0"]
    answer = jobs.get(q="hunter2-plain", limit=3)
    assert answer.json()["next_cursor"] is not None
    rest = jobs.get(q="hunter2-plain", limit=3, before=answer.json()["next_cursor"]).json()
    assert rest["jobs"] == [] and rest["next_cursor"] is None  # `old` was left out
    found = jobs.get(q="old.example").json()["jobs"]
    assert [job["id"] for job in found] == [old]
    assert found[0]["inputs"]["password"] == "********"


def test_a_database_searched_before_the_trigram_index_keeps_its_text(tmp_path: Path) -> None:
    """Jobs stored under migration 8 (the narrow table alone) are found after migration 10
    (the trigram index is built from what is there), and short texts still scan."""
    conn = connect(tmp_path / "old.db")
    for version, script in enumerate(schema.MIGRATIONS[:9], start=1):
        for statement in schema.statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    row = job_row("mailer", {"to": "Ann@Example.org", "key": {"$sealed": "gAAAAtoken"}}, NOW)
    job_sql.insert(conn, row)
    assert schema.migrate(conn) == len(schema.MIGRATIONS)
    for q in ("ann@example", "MAILER", "an", row["id"][:8]):
        found = job_search.search(conn, job_search.JobFilter(q=q))
        assert [record.id for record in found] == [row["id"]], q
    assert job_search.search(conn, job_search.JobFilter(q="token")) == []
    conn.close()
