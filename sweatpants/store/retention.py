"""SQL for deleting jobs: pick what a prune removes, drop job rows, purge their rows in batches.

Deleting a job is two steps. `drop_jobs` removes the `jobs` rows (and with them the inputs,
settings and checkpoint; `job_text` follows by its trigger) in one short transaction and
records each id in `purges`; from then on the job is gone for every reader. `purge_batch`
then removes the job's log lines, results and chart counts (`job_activity`) a bounded number
of rows at a time, each batch its own savepoint in the writer's next
group transaction, so deleting a million rows never holds the single writer for long and other
writes (job output, state changes) slip in between batches. A daemon that stops half way goes
on at its next start: `purges` is a table, not memory.

Space: a database created by this version has `auto_vacuum = INCREMENTAL`, and each batch
returns up to `VACUUM_PAGES` free pages to the file system (`PRAGMA incremental_vacuum`). An
older database (`auto_vacuum = NONE`) keeps its freed pages for new rows (the file stops
growing rather than shrinking); switching it needs a full `VACUUM`, which rewrites the whole
file and is never started on its own (see docs/api.md, "Retention").
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import NamedTuple

from sweatpants.store import timeline
from sweatpants.store.schedules import KEPT_JOB_IDS

BATCH_ROWS = 2000  # rows of one table deleted per batch (a few ms on these machines)
VACUUM_PAGES = 256  # free pages given back per write (1 MB with 4 KB pages)
FINAL = ("completed", "failed", "stopped")
AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}


class Dropped(NamedTuple):
    """A job whose row was deleted: what it was, and how many rows it leaves to purge."""

    id: str
    module_id: str
    status: str
    result_count: int
    log_count: int


class Purged(NamedTuple):
    """What one batch removed; `remaining` is how many jobs still have rows to purge."""

    results: int
    logs: int
    jobs_done: tuple[str, ...]
    remaining: int
    free_pages: int


def _pragma(conn: sqlite3.Connection, name: str) -> int:
    """One integer PRAGMA, its statement run to the end (a PRAGMA statement left open stops
    `incremental_vacuum` from moving pages)."""
    rows = conn.execute(f"PRAGMA {name}").fetchall()  # name: a constant of ours
    return int(rows[0][0])


def auto_vacuum(conn: sqlite3.Connection) -> str:
    return AUTO_VACUUM.get(_pragma(conn, "auto_vacuum"), "none")


def kept_by_schedules(conn: sqlite3.Connection) -> str:
    """The SQL condition that spares the jobs schedules point at (their `last_job_id`, which
    their status is read from: `store/schedules.py`)."""
    return f" AND id NOT IN ({KEPT_JOB_IDS})"


def prune_candidates(
    conn: sqlite3.Connection,
    *,
    ended_before: float,
    statuses: Sequence[str],
    module_id: str | None,
    keep_last: int,
    limit: int,
) -> list[str]:
    """Ids of finished jobs that ended at or before `ended_before`, in `statuses` (all final
    ones when empty), of `module_id` (any when None), except the newest `keep_last` finished
    jobs matching the same filters and any job a schedule's last run points to; oldest first."""
    wanted = [s for s in statuses if s in FINAL] or list(FINAL)
    where = f"status IN ({','.join('?' * len(wanted))})"
    match: list[object] = list(wanted)
    if module_id:
        where += " AND module_id = ?"
        match.append(module_id)
    sql = f"SELECT id FROM jobs WHERE {where} AND COALESCE(completed_at, created_at) <= ?"
    params: list[object] = [*match, ended_before]
    sql += kept_by_schedules(conn)
    if keep_last > 0:
        sql += (
            f" AND id NOT IN (SELECT id FROM jobs WHERE {where} "
            "ORDER BY created_at DESC, id DESC LIMIT ?)"
        )
        params += [*match, keep_last]
    sql += " ORDER BY created_at, id LIMIT ?"
    params.append(limit)
    cursor = conn.cursor()
    cursor.row_factory = None
    return [row[0] for row in cursor.execute(sql, params).fetchall()]


def drop_jobs(conn: sqlite3.Connection, job_ids: Sequence[str], now: float) -> list[Dropped]:
    """Delete the rows of the finished jobs among `job_ids` and queue their rows for purging.

    A job that is not finished (pending, running) or no longer exists is left out of the
    answer: the caller compares it with what it asked for."""
    dropped: list[Dropped] = []
    cursor = conn.cursor()
    cursor.row_factory = None
    marks = ",".join("?" * len(FINAL))
    for job_id in job_ids:
        row = cursor.execute(
            "DELETE FROM jobs WHERE id = ? AND status IN (" + marks + ") "
            "RETURNING id, module_id, status, result_count, log_count",
            (job_id, *FINAL),
        ).fetchall()
        if row:
            dropped.append(Dropped._make(row[0]))
    if dropped:
        cursor.executemany(
            "INSERT OR IGNORE INTO purges (job_id, deleted_at) VALUES (?, ?)",
            [(item.id, now) for item in dropped],
        )
    return dropped


def pending_purges(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM purges").fetchone()[0])


def purge_batch(conn: sqlite3.Connection, rows: int = BATCH_ROWS) -> Purged:
    """Remove up to `rows` results and `rows` log lines of deleted jobs, then give back up to
    `VACUUM_PAGES` free pages; a job with nothing left leaves `purges`."""
    cursor = conn.cursor()
    cursor.row_factory = None
    results = logs = 0
    done: list[str] = []
    budget = rows
    for (job_id,) in cursor.execute(
        "SELECT job_id FROM purges ORDER BY deleted_at, job_id LIMIT 50"
    ).fetchall():
        if budget <= 0:
            break
        gone_results = conn.execute(
            "DELETE FROM results WHERE rowid IN "
            "(SELECT rowid FROM results WHERE job_id = ? LIMIT ?)",
            (job_id, budget),
        ).rowcount
        gone_logs = conn.execute(
            "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE job_id = ? LIMIT ?)",
            (job_id, budget),
        ).rowcount
        results += max(gone_results, 0)
        logs += max(gone_logs, 0)
        if gone_results < budget and gone_logs < budget:  # nothing of this job is left
            conn.execute("DELETE FROM purges WHERE job_id = ?", (job_id,))
            timeline.forget_job(conn, job_id)  # its chart counts (issue 16)
            done.append(job_id)
        budget -= max(gone_results, gone_logs, 1)
    free = give_back_space(conn)
    remaining = pending_purges(conn)
    return Purged(results, logs, tuple(done), remaining, free)


def give_back_space(conn: sqlite3.Connection, pages: int = VACUUM_PAGES) -> int:
    """Return up to `pages` free pages to the file system (only with incremental
    auto-vacuum); returns the free pages left.

    One page per statement: each step of `PRAGMA incremental_vacuum` frees one page, and
    Python's sqlite3 steps a statement that returns no rows only once (`executescript` would
    step it to the end, but commits the writer's transaction first)."""
    free = free_pages(conn)
    if free == 0 or auto_vacuum(conn) != "incremental":
        return free
    for _ in range(min(pages, free)):
        conn.execute("PRAGMA incremental_vacuum(1)")
    return free_pages(conn)


def page_size(conn: sqlite3.Connection) -> int:
    return _pragma(conn, "page_size")


def free_pages(conn: sqlite3.Connection) -> int:
    return _pragma(conn, "freelist_count")
