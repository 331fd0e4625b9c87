"""SQL for job logs: append in batches, read by keyset (the log id), never all at once.

`logs` is a rowid table (`id` is the row id) with an index on (job_id, id): a multi-MB line
stays in the table's b-tree, out of the index every insert searches (see schema.py).
Reads return plain tuples (`LogLine`), never `sqlite3.Row`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sweatpants.store import timeline

LogRow = tuple[float, str, str]  # what is written: (timestamp, level, message)
LogLine = tuple[int, float, str, str]  # what is read: (id, timestamp, level, message)
SQLITE_MAX_INT = 2**63 - 1  # the largest integer SQLite takes as a parameter


def append(conn: sqlite3.Connection, job_id: str, rows: Sequence[LogRow]) -> None:
    conn.executemany(
        "INSERT INTO logs (job_id, ts, level, message) VALUES (?, ?, ?, ?)",
        [(job_id, ts, level, message) for ts, level, message in rows],
    )
    timeline.count(conn, job_id, "logs", [row[0] for row in rows])


def _lines(conn: sqlite3.Connection, sql: str, params: tuple[object, ...]) -> list[LogLine]:
    cursor = conn.cursor()
    cursor.row_factory = None
    lines: list[LogLine] = cursor.execute(sql, params).fetchall()
    return lines


def after(
    conn: sqlite3.Connection, job_id: str, after_id: int, limit: int, level: str | None = None
) -> list[LogLine]:
    """Entries with id > after_id, oldest first."""
    if level:
        return _lines(
            conn,
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND id > ? AND level = ? "
            "ORDER BY id LIMIT ?",
            (job_id, after_id, level, limit),
        )
    return _lines(
        conn,
        "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
        (job_id, after_id, limit),
    )


def tail(
    conn: sqlite3.Connection, job_id: str, limit: int, level: str | None = None
) -> list[LogLine]:
    """The newest `limit` entries, returned oldest first."""
    if level:
        lines = _lines(
            conn,
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? AND level = ? "
            "ORDER BY id DESC LIMIT ?",
            (job_id, level, limit),
        )
    else:
        lines = _lines(
            conn,
            "SELECT id, ts, level, message FROM logs WHERE job_id = ? ORDER BY id DESC LIMIT ?",
            (job_id, limit),
        )
    lines.reverse()
    return lines


def tail_page(
    conn: sqlite3.Connection, job_id: str, limit: int, page: int, level: str | None = None
) -> list[LogLine]:
    """The first `page` of the newest `limit` entries, oldest first: the beginning of what
    `tail` would return when that is more than one answer should hold; the rest follows by
    `after` from the last id. Finds the window's first id (without `level`, by walking the
    index alone), then reads a keyset page from it; lines committed in between only extend
    the window at its far end."""
    skip = min(limit, SQLITE_MAX_INT) - 1
    if level:
        row = conn.execute(
            "SELECT id FROM logs WHERE job_id = ? AND level = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (job_id, level, skip),
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM logs WHERE job_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
            (job_id, skip),
        ).fetchone()
    start = int(row[0]) - 1 if row is not None else 0  # fewer than `limit`: from the first
    return after(conn, job_id, start, page, level)
