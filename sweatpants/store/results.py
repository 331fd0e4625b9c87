"""SQL for job results: numbered per job (`seq` from 1), paged by keyset, streamed for export.

`results` is a rowid table with a unique index on (job_id, seq), so a multi-MB result sits in
the table's b-tree, never in the index that every insert searches (see schema.py, migration 2).
Reads return plain tuples (`ResultRow`), never `sqlite3.Row`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from sweatpants.store import timeline

ResultRow = tuple[int, float, str]  # (seq, timestamp, JSON text), written and read alike


def append(conn: sqlite3.Connection, job_id: str, rows: Sequence[ResultRow]) -> None:
    conn.executemany(
        "INSERT INTO results (job_id, seq, ts, data) VALUES (?, ?, ?, ?)",
        [(job_id, seq, ts, data) for seq, ts, data in rows],
    )
    timeline.count(conn, job_id, "results", [row[1] for row in rows])


def after(conn: sqlite3.Connection, job_id: str, after_seq: int, limit: int) -> list[ResultRow]:
    cursor = conn.cursor()
    cursor.row_factory = None
    rows: list[ResultRow] = cursor.execute(
        "SELECT seq, ts, data FROM results WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (job_id, after_seq, limit),
    ).fetchall()
    return rows
