"""SQL for job logs: append in batches, read by keyset (the log id), never all at once.

`logs` is a rowid table (`id` is the row id) with an index on (job_id, id): a multi-MB line
stays in the table's b-tree, out of the index every insert searches (see schema.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

LogRow = tuple[float, str, str]  # (timestamp, level, message)


def append(conn: sqlite3.Connection, job_id: str, rows: Sequence[LogRow]) -> None:
    conn.executemany(
        "INSERT INTO logs (job_id, ts, level, message) VALUES (?, ?, ?, ?)",
        [(job_id, ts, level, message) for ts, level, message in rows],
    )


def after(
    conn: sqlite3.Connection, job_id: str, after_id: int, limit: int, level: str | None = None
) -> list[sqlite3.Row]:
    """Entries with id > after_id, oldest first."""
    if level:
        return conn.execute(
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND id > ? AND level = ? "
            "ORDER BY id LIMIT ?",
            (job_id, after_id, level, limit),
        ).fetchall()
    return conn.execute(
        "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
        (job_id, after_id, limit),
    ).fetchall()


def tail(
    conn: sqlite3.Connection, job_id: str, limit: int, level: str | None = None
) -> list[sqlite3.Row]:
    """The newest `limit` entries, returned oldest first."""
    if level:
        rows = conn.execute(
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND level = ? "
            "ORDER BY id DESC LIMIT ?",
            (job_id, level, limit),
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? ORDER BY id DESC LIMIT ?",
            (job_id, limit),
        ).fetchall()
    rows.reverse()
    return rows
