"""Deleting jobs: `DELETE /jobs/{id}`, `POST /jobs/prune`, `SWEATPANTS_KEEP_JOBS_DAYS` and the
CLI's `jobs rm` / `jobs prune`, on a real daemon, checked in the database file itself: what
they say they removed is gone (job row, log lines, results), nothing else is; a running job
cannot be deleted; the job a schedule last ran is kept; bad input is a 422 naming the field.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module

pytestmark = [pytest.mark.live]

ROWS = """
from sweatpants import Module


class Rows(Module):
    async def run(self, inputs, settings):
        for i in range(int(inputs["count"])):
            await self.log(f"line {i}")
            yield {"i": i}
        if inputs["fail"]:
            raise RuntimeError("asked to fail")
"""
ROWS_INPUTS = [
    {"id": "count", "type": "integer", "default": 20},
    {"id": "fail", "type": "boolean", "default": False},
]
SLOW = """
import asyncio
from sweatpants import Module


class Slow(Module):
    async def run(self, inputs, settings):
        yield {"started": True}
        while not self.is_cancelled:
            await asyncio.sleep(0.05)
"""


def install(daemon: RunningDaemon, tmp: Path, module_id: str, code: str = ROWS) -> None:
    inputs = ROWS_INPUTS if code == ROWS else []
    folder = write_module(tmp / "src", module_id, code, inputs=inputs)
    answer = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert answer.status_code == 200, answer.text


def rows(daemon: RunningDaemon, job_id: str) -> tuple[int, int, int]:
    """(job rows, results, log lines) of a job, read from the database file."""
    with sqlite3.connect(daemon.data_dir / "sweatpants.db", timeout=30) as conn:
        return (
            conn.execute("SELECT count(*) FROM jobs WHERE id = ?", (job_id,)).fetchone()[0],
            conn.execute("SELECT count(*) FROM results WHERE job_id = ?", (job_id,)).fetchone()[0],
            conn.execute("SELECT count(*) FROM logs WHERE job_id = ?", (job_id,)).fetchone()[0],
        )


def activity(daemon: RunningDaemon, job_id: str) -> int:
    """The job's rows of chart counts (`job_activity`), read from the database file."""
    with sqlite3.connect(daemon.data_dir / "sweatpants.db", timeout=30) as conn:
        query = "SELECT count(*) FROM job_activity WHERE job_id = ?"
        return int(conn.execute(query, (job_id,)).fetchone()[0])


def run(daemon: RunningDaemon, module_id: str, **inputs: Any) -> dict[str, Any]:
    return daemon.wait_job(daemon.start_job(module_id, inputs=inputs))


def keep_by_schedule(daemon: RunningDaemon, job_id: str) -> None:
    """A (disabled) schedule whose last run is `job_id`, written straight into the database."""
    now = time.time()
    with sqlite3.connect(daemon.data_dir / "sweatpants.db", timeout=30) as conn:
        conn.execute(
            "INSERT INTO schedules (id, module_id, inputs, settings, every, enabled, created_at,"
            " updated_at, last_job_id) VALUES (?, 'rows', '{}', '{}', '1d', 0, ?, ?, ?)",
            (f"keep-{job_id}", now, now, job_id),
        )


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    base = tmp_path_factory.mktemp("retention")
    daemon = RunningDaemon(base / "data")
    daemon.start()
    try:
        for module_id in ("rows", "rows-a", "rows-b"):
            install(daemon, base, module_id)
        install(daemon, base, "slow", SLOW)
        yield daemon
    finally:
        daemon.stop()


def test_delete_removes_the_job_and_exactly_its_rows(shared: RunningDaemon) -> None:
    client = shared.client()
    big = run(shared, "rows", count=300)
    other = run(shared, "rows", count=40)
    assert rows(shared, big["id"]) == (1, 300, big["log_count"])
    kept = rows(shared, other["id"])
    other_activity = activity(shared, other["id"])
    assert activity(shared, big["id"]) > 0 and other_activity > 0
    completed = client.get("/status").json()["counts"]["completed"]
    answer = client.delete(f"/jobs/{big['id'][:8]}")  # a prefix names it, as everywhere
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "deleted",
        "id": big["id"],
        "results": 300,
        "logs": big["log_count"],
        "purged": True,
    }
    assert rows(shared, big["id"]) == (0, 0, 0) and activity(shared, big["id"]) == 0
    assert rows(shared, other["id"]) == kept and activity(shared, other["id"]) == other_activity
    assert client.get(f"/jobs/{big['id']}").status_code == 404
    assert client.get(f"/jobs/{big['id']}/results").status_code == 404
    assert client.delete(f"/jobs/{big['id']}").status_code == 404
    status = client.get("/status").json()
    assert status["counts"]["completed"] == completed - 1
    assert status["database"]["auto_vacuum"] == "incremental"
    assert status["database"]["purging_jobs"] == 0 and status["database"]["size_bytes"] > 0


def test_a_running_job_cannot_be_deleted(shared: RunningDaemon) -> None:
    client = shared.client()
    job_id = shared.start_job("slow")
    shared.wait_job(job_id, ["running"])
    wait_for(lambda: rows(shared, job_id)[1] == 1, 30, what="its first result")
    answer = client.delete(f"/jobs/{job_id}")
    assert answer.status_code == 409, answer.text
    assert "stop it first" in answer.json()["detail"]
    prune = client.post("/jobs/prune", json={"older_than": "0s", "module_id": "slow"})
    assert prune.json()["removed"] == 0
    assert shared.job(job_id)["status"] == "running" and rows(shared, job_id)[:2] == (1, 1)
    assert client.post(f"/jobs/{job_id}/stop").status_code == 200
    shared.wait_job(job_id)
    assert client.delete(f"/jobs/{job_id}").status_code == 200
    assert rows(shared, job_id) == (0, 0, 0)


def test_prune_removes_exactly_what_matches(shared: RunningDaemon) -> None:
    client = shared.client()
    a1 = run(shared, "rows-a")
    a2 = run(shared, "rows-a", fail=True)
    a3 = run(shared, "rows-a")
    b1 = run(shared, "rows-b")
    assert (a2["status"], a3["status"]) == ("failed", "completed")
    recent = client.post("/jobs/prune", json={"older_than": "1d", "module_id": "rows-a"})
    assert recent.json()["removed"] == 0
    failed = client.post(
        "/jobs/prune", json={"older_than": "0s", "status": ["failed"], "module_id": "rows-a"}
    ).json()
    assert failed == {
        "removed": 1,
        "ids": [a2["id"]],
        "results": 20,
        "logs": a2["log_count"],
        "purged": True,
    }
    kept_newest = client.post(
        "/jobs/prune", json={"older_than": "0s", "module_id": "rows-a", "keep_last": 1}
    ).json()
    assert kept_newest["ids"] == [a1["id"]]
    for gone in (a1, a2):
        assert rows(shared, gone["id"]) == (0, 0, 0)
    assert rows(shared, a3["id"])[:2] == (1, 20) and rows(shared, b1["id"])[:2] == (1, 20)
    keep_by_schedule(shared, b1["id"])
    b2 = run(shared, "rows-b")
    spared = client.post("/jobs/prune", json={"older_than": "0s", "module_id": "rows-b"}).json()
    assert spared["ids"] == [b2["id"]]  # b1 is a schedule's last run
    assert rows(shared, b1["id"])[:2] == (1, 20)


def test_bad_prune_input_names_the_field_and_deletes_nothing(shared: RunningDaemon) -> None:
    client = shared.client()
    job = run(shared, "rows")
    cases = [
        ({}, "older_than"),
        ({"older_than": "soon"}, "older_than"),
        ({"older_than": 30}, "older_than"),
        ({"older_than": "0s", "status": ["running"]}, "status"),
        ({"older_than": "0s", "status": "everything"}, "status"),
        ({"older_than": "0s", "keep_last": -1}, "keep_last"),
        ({"older_than": "0s", "keep_last": "all"}, "keep_last"),
        ({"older_than": "0s", "module_id": 7}, "module_id"),
        ({"older_than": "0s", "everything": True}, "everything"),
    ]
    for body, field in cases:
        answer = client.post("/jobs/prune", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json().get("field") == field or field in answer.text, (body, answer.text)
    assert rows(shared, job["id"])[:2] == (1, 20)


def test_the_cli_removes_and_prunes(shared: RunningDaemon) -> None:
    first = run(shared, "rows-b", count=5)
    second = run(shared, "rows-b", count=5, fail=True)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
        return subprocess.run(
            [sys.executable, "-m", "sweatpants", "--url", shared.url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )

    removed = cli("jobs", "rm", first["id"][:8])
    assert removed.returncode == 0, removed.stderr
    assert f"Deleted job {first['id'][:8]} (5 results" in removed.stdout
    pruned = cli(
        "jobs", "prune", "--older-than", "0s", "--status", "failed", "--module", "rows-b", "--json"
    )
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["ids"] == [second["id"]]
    missing = cli("jobs", "rm", first["id"])
    assert missing.returncode == 1 and "no job" in missing.stderr
    listed = cli("jobs", "--module", "rows-b")  # plain `jobs` still lists
    assert listed.returncode == 0 and first["id"][:8] not in listed.stdout


def test_keep_jobs_days_prunes_in_the_background(
    make_daemon: Callable[..., RunningDaemon], tmp_path: Path
) -> None:
    # 0.0001 days is 8.6 s: the policy looks every 2.2 s.
    daemon = make_daemon(env={"SWEATPANTS_KEEP_JOBS_DAYS": "0.0001"})
    install(daemon, tmp_path, "rows")
    kept = run(daemon, "rows")
    keep_by_schedule(daemon, kept["id"])
    old = run(daemon, "rows")
    wait_for(
        lambda: rows(daemon, old["id"]) == (0, 0, 0), 90, what="the policy to prune", interval=0.5
    )
    assert rows(daemon, kept["id"])[:2] == (1, 20)
    assert daemon.client().get(f"/jobs/{old['id']}").status_code == 404
