"""SQL for job logs: append in batches, read by keyset (the log id), never all at once.

`logs` is a rowid table (`id` is the row id) with an index on (job_id, id): a multi-MB line
stays in the table's b-tree, out of the index every insert searches (see schema.py).
Reads return plain tuples (`LogLine`), never `sqlite3.Row`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

LogRow = tuple[float, str, str]  # what is written: (timestamp, level, message)
LogLine = tuple[int, float, str, str]  # what is read: (id, timestamp, level, message)


def append(conn: sqlite3.Connection, job_id: str, rows: Sequence[LogRow]) -> None:
    conn.executemany(
        "INSERT INTO logs (job_id, ts, level, message) VALUES (?, ?, ?, ?)",
        [(job_id, ts, level, message) for ts, level, message in rows],
    )


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
