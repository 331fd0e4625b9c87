"""SQL for the `jobs` table. Functions take a connection; the writer or a reader supplies it."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any


def insert(conn: sqlite3.Connection, row: dict[str, Any]) -> None:
    """Add a new job (status `pending`)."""
    conn.execute(
        """INSERT INTO jobs (id, module_id, status, inputs, settings, max_duration, max_seconds,
                             created_at, executor)
           VALUES (:id, :module_id, :status, :inputs, :settings, :max_duration, :max_seconds,
                   :created_at, :executor)""",
        row,
    )


def get(conn: sqlite3.Connection, job_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return row


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
) -> list[sqlite3.Row]:
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
    sql = f"SELECT * FROM jobs {where} ORDER BY created_at DESC, id DESC LIMIT ?"
    return conn.execute(sql, [*params, limit]).fetchall()


def with_status(conn: sqlite3.Connection, statuses: Sequence[str]) -> list[sqlite3.Row]:
    """Jobs in the given states, oldest first (the scheduler's queue order)."""
    marks = ",".join("?" * len(statuses))
    return conn.execute(
        f"SELECT * FROM jobs WHERE status IN ({marks}) ORDER BY created_at, id", list(statuses)
    ).fetchall()


def count_by_status(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        row[0]: row[1] for row in conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status")
    }


def mark_running(
    conn: sqlite3.Connection, job_id: str, *, now: float, pid: int | None, node: str
) -> None:
    """The job's process has started; the deadline is fixed at the first start only."""
    conn.execute(
        """UPDATE jobs SET status = 'running', pid = ?, node = ?,
                  started_at = COALESCE(started_at, ?),
                  deadline_at = COALESCE(deadline_at, CASE WHEN max_seconds IS NULL THEN NULL
                                                           ELSE ? + max_seconds END)
           WHERE id = ?""",
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
) -> None:
    conn.execute(
        """UPDATE jobs SET status = ?, completed_at = ?, error = ?, traceback = ?, exit_code = ?,
                  pid = NULL
           WHERE id = ?""",
        (status, now, error, traceback, exit_code, job_id),
    )


def prepare_resume(conn: sqlite3.Connection, job_id: str) -> None:
    """Put an interrupted job back in the queue, dropping results newer than its checkpoint."""
    conn.execute(
        "DELETE FROM results WHERE job_id = ? "
        "AND seq > (SELECT checkpoint_seq FROM jobs WHERE id = ?)",
        (job_id, job_id),
    )
    conn.execute(
        """UPDATE jobs SET status = 'pending', result_count = checkpoint_seq, pid = NULL,
                  resumes = resumes + 1
           WHERE id = ?""",
        (job_id,),
    )


def save_checkpoint(conn: sqlite3.Connection, job_id: str, data: str, seq: int) -> None:
    conn.execute(
        "UPDATE jobs SET checkpoint = ?, checkpoint_seq = ? WHERE id = ?", (data, seq, job_id)
    )


def save_progress(conn: sqlite3.Connection, job_id: str, done: float, total: float | None) -> None:
    conn.execute(
        "UPDATE jobs SET progress_done = ?, progress_total = ? WHERE id = ?", (done, total, job_id)
    )


def add_counts(conn: sqlite3.Connection, job_id: str, *, results: int, logs: int) -> None:
    conn.execute(
        "UPDATE jobs SET result_count = result_count + ?, log_count = log_count + ? WHERE id = ?",
        (results, logs, job_id),
    )
