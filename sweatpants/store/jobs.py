"""SQL for the `jobs` table. Functions take a connection; the writer or a reader supplies it.

Reads and the writes that change a job hand back a `JobRecord`: the row's columns as plain
values in a named tuple (never a `sqlite3.Row`), which `sweatpants.jobs.models.Job` is built
from. A write returns the record from its own statement (`RETURNING`), in the same
transaction, so whoever publishes the change never reads the row again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from sweatpants.store import timeline


class JobRecord(NamedTuple):
    """One `jobs` row, column by column (timestamps in epoch seconds, JSON still as text)."""

    id: str
    module_id: str
    status: str
    inputs: str  # JSON
    settings: str  # JSON
    max_duration: str | None
    max_seconds: float | None
    created_at: float
    started_at: float | None
    completed_at: float | None
    deadline_at: float | None
    error: str | None
    traceback: str | None
    exit_code: int | None
    checkpoint: str | None  # JSON
    checkpoint_seq: int
    progress_done: float | None
    progress_total: float | None
    result_count: int
    log_count: int
    resumes: int
    pid: int | None
    executor: str
    node: str | None
    schedule_id: str | None = None  # the schedule that made it
    trigger: str = "manual"  # manual, schedule, catch_up, retry, rerun
    attempt: int = 1  # counts from 1; a retry raises it
    max_attempts: int = 1  # 1 + retries
    retry_at: float | None = None  # a failed attempt waits until then
    retry_delay: str | None = None  # the first backoff, as given (`30s`)
    created_by: int | None = None  # the `sub` of the signed user token behind POST /jobs


# Named, in JobRecord's order: `SELECT *` would follow the table's order, which a later
# migration may change.
COLUMNS = ", ".join(JobRecord._fields)


Params = Sequence[object] | Mapping[str, object]


def _records(conn: sqlite3.Connection, sql: str, params: Params) -> list[JobRecord]:
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: cheaper than Row, and JobRecord takes them as-is
    return [JobRecord._make(row) for row in cursor.execute(sql, params).fetchall()]


def _record(conn: sqlite3.Connection, sql: str, params: Params) -> JobRecord | None:
    # fetchall, not fetchone: a `RETURNING` statement is finished only once stepped to its end.
    records = _records(conn, sql, params)
    return records[0] if records else None


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> JobRecord:
    """Add a new job (status `pending`); returns it as stored."""
    record = _record(
        conn,
        f"""INSERT INTO jobs (id, module_id, status, inputs, settings, max_duration, max_seconds,
                             created_at, executor,
                             schedule_id, trigger, max_attempts, retry_delay, created_by)
           VALUES (:id, :module_id, :status, :inputs, :settings, :max_duration, :max_seconds,
                   :created_at, :executor,
                   :schedule_id, :trigger, :max_attempts, :retry_delay, :created_by)
           RETURNING {COLUMNS}""",
        {
            "schedule_id": None,
            "trigger": "manual",
            "max_attempts": 1,
            "retry_delay": None,
            "created_by": None,
            **row,
        },
    )
    assert record is not None  # an INSERT that did not raise made its row
    return record


def get(conn: sqlite3.Connection, job_id: str) -> JobRecord | None:
    return _record(conn, f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,))


def exists(conn: sqlite3.Connection, job_id: str) -> bool:
    return conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is not None


def state(conn: sqlite3.Connection, job_id: str) -> tuple[str, str | None] | None:
    """(status, error) of a job, or None if there is no such job."""
    found = conn.execute("SELECT status, error FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return (found[0], found[1]) if found is not None else None


def result_count(conn: sqlite3.Connection, job_id: str) -> int:
    found = conn.execute("SELECT result_count FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return int(found[0]) if found is not None else 0


def ids_with_prefix(conn: sqlite3.Connection, prefix: str, limit: int = 10) -> list[str]:
    """Ids starting with `prefix`, by a range scan on the key (so `%` and `_` are plain)."""
    upper = prefix + "\U0010ffff"
    rows = conn.execute(
        "SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT ?", (prefix, upper, limit)
    ).fetchall()
    return [row[0] for row in rows]


def page(
    conn: sqlite3.Connection,
    *,
    status: str | None,
    module_id: str | None,
    before: tuple[float, str] | None,
    limit: int,
) -> list[JobRecord]:
    """Newest first; `before` is the (created_at, id) of the last job of the previous page."""
    clauses: list[str] = []
    params: list[object] = []
    if status:
        clauses.append("status = ?")
        params.append(status)
    if module_id:
        clauses.append("module_id = ?")
        params.append(module_id)
    if before:
        clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
        params.extend([before[0], before[0], before[1]])
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = f"SELECT {COLUMNS} FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ?"
    return _records(conn, sql, [*params, limit])


def with_status(conn: sqlite3.Connection, statuses: Sequence[str]) -> list[JobRecord]:
    """Jobs in the given states, oldest first (the scheduler's queue order)."""
    marks = ",".join("?" * len(statuses))
    return _records(
        conn,
        f"SELECT {COLUMNS} FROM jobs WHERE status IN ({marks}) ORDER BY created_at, id",
        list(statuses),
    )


def count_by_module_status(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
    """(module_id, status, count) of every pair that has jobs (GET /metrics)."""
    rows = conn.execute("SELECT module_id, status, COUNT(*) FROM jobs GROUP BY module_id, status")
    return [(row[0], row[1], row[2]) for row in rows]


def count_by_status(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        row[0]: row[1] for row in conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
    }


def mark_running(
    conn: sqlite3.Connection, job_id: str, *, now: float, pid: int | None, node: str
) -> JobRecord | None:
    """The job's process has started; the deadline is fixed at the first start only."""
    return _record(
        conn,
        f"""UPDATE jobs SET status = 'running', pid = ?, node = ?,
                  started_at = COALESCE(started_at, ?),
                  deadline_at = COALESCE(deadline_at, CASE WHEN max_seconds IS NULL THEN NULL
                                                           ELSE ? + max_seconds END)
           WHERE id = ?
           RETURNING {COLUMNS}""",
        (pid, node, now, now, job_id),
    )


def finish(
    conn: sqlite3.Connection,
    job_id: str,
    *,
    status: str,
    now: float,
    error: str | None,
    traceback: str | None,
    exit_code: int | None,
) -> JobRecord | None:
    """The job's final state; returns the job as it now stands."""
    return _record(
        conn,
        f"""UPDATE jobs SET status = ?, completed_at = ?, error = ?, traceback = ?, exit_code = ?,
                  pid = NULL
           WHERE id = ?
           RETURNING {COLUMNS}""",
        (status, now, error, traceback, exit_code, job_id),
    )


def _drop_results_after_checkpoint(conn: sqlite3.Connection, job_id: str) -> int:
    """Delete the results (and their chart counts) newer than the job's last checkpoint, which
    its next run produces again; returns how many went."""
    timeline.forget_results(conn, job_id, checkpoint_seq(conn, job_id))
    return conn.execute(
        "DELETE FROM results WHERE job_id = ? "
        "AND seq > (SELECT checkpoint_seq FROM jobs WHERE id = ?)",
        (job_id, job_id),
    ).rowcount


def prepare_resume(conn: sqlite3.Connection, job_id: str) -> int:
    """Put an interrupted job back in the queue, dropping results newer than its checkpoint;
    returns how many were dropped."""
    dropped = _drop_results_after_checkpoint(conn, job_id)
    conn.execute(
        """UPDATE jobs SET status = 'pending', result_count = checkpoint_seq, pid = NULL,
                  resumes = resumes + 1
           WHERE id = ?""",
        (job_id,),
    )
    return max(dropped, 0)


def prepare_retry(conn: sqlite3.Connection, job_id: str, *, retry_at: float) -> int:
    """A failed attempt back to `pending` as the next attempt, from its last checkpoint
    (results newer than it dropped; the failure's error cleared: its log keeps it). Returns
    how many results were dropped."""
    dropped = _drop_results_after_checkpoint(conn, job_id)
    conn.execute(
        """UPDATE jobs SET status = 'pending', result_count = checkpoint_seq, pid = NULL,
                  attempt = attempt + 1, retry_at = ?, error = NULL, traceback = NULL,
                  exit_code = NULL
           WHERE id = ?""",
        (retry_at, job_id),
    )
    return max(dropped, 0)


def save_checkpoint(conn: sqlite3.Connection, job_id: str, data: str, seq: int) -> None:
    conn.execute(
        "UPDATE jobs SET checkpoint = ?, checkpoint_seq = ? WHERE id = ?", (data, seq, job_id)
    )


def save_progress(conn: sqlite3.Connection, job_id: str, done: float, total: float | None) -> None:
    conn.execute(
        "UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?", (done, total, job_id)
    )
    timeline.sample_progress(conn, job_id, time.time(), done, total)


def checkpoint_seq(conn: sqlite3.Connection, job_id: str) -> int:
    found = conn.execute("SELECT checkpoint_seq FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return int(found[0]) if found is not None else 0


def add_counts(conn: sqlite3.Connection, job_id: str, *, results: int, logs: int) -> None:
    conn.execute(
        "UPDATE jobs SET result_count = result_count + ?, log_count = log_count + ? WHERE id = ?",
        (results, logs, job_id),
    )
