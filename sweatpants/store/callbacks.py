"""SQL for `callbacks`: the inbox outside agents POST to (`/callbacks`).

Newest first is rowid order (SQLite gives each new row a rowid above every stored one), so
pages are keyset scans on rowid, and a filter by `callback_id` or `source` reads its index
in the same order. Reads return `CallbackRecord`s, never `sqlite3.Row`; `payload` stays JSON
text here (the engine decodes it).
"""

from __future__ import annotations

import sqlite3
from typing import NamedTuple


class CallbackRecord(NamedTuple):
    """One `callbacks` row (received_at in epoch seconds, payload as JSON text)."""

    id: str
    callback_id: str | None
    source: str | None
    status: str | None
    payload: str
    received_at: float


COLUMNS = ", ".join(CallbackRecord._fields)


def _records(
    conn: sqlite3.Connection, sql: str, params: tuple[object, ...]
) -> list[CallbackRecord]:
    cursor = conn.cursor()
    cursor.row_factory = None
    return [CallbackRecord(*row) for row in cursor.execute(sql, params).fetchall()]


def insert(conn: sqlite3.Connection, record: CallbackRecord) -> None:
    conn.execute(
        f"INSERT INTO callbacks ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
        tuple(record),
    )


def get(conn: sqlite3.Connection, callback_id: str) -> CallbackRecord | None:
    found = _records(conn, f"SELECT {COLUMNS} FROM callbacks WHERE id = ?", (callback_id,))
    return found[0] if found else None


def ids_with_prefix(conn: sqlite3.Connection, prefix: str, limit: int = 10) -> list[str]:
    """Ids starting with `prefix`, by a range scan on the key (so `%` and `_` are plain)."""
    rows = conn.execute(
        "SELECT id FROM callbacks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    ).fetchall()
    return [row[0] for row in rows]


def page(
    conn: sqlite3.Connection,
    *,
    source: str | None,
    callback_id: str | None,
    before: str | None,
    limit: int,
) -> list[CallbackRecord]:
    """Newest first, filtered; `before` is the id of the last callback of the previous page
    (one that names no stored callback gives an empty page: the engine checks it first)."""
    clauses: list[str] = []
    params: list[object] = []
    if callback_id is not None:
        clauses.append("callback_id = ?")
        params.append(callback_id)
    if source is not None:
        clauses.append("source = ?")
        params.append(source)
    if before is not None:
        clauses.append("rowid < (SELECT rowid FROM callbacks WHERE id = ?)")
        params.append(before)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    return _records(
        conn,
        f"SELECT {COLUMNS} FROM callbacks {where} ORDER BY rowid DESC LIMIT ?",
        (*params, limit),
    )


def latest(conn: sqlite3.Connection, callback_id: str) -> CallbackRecord | None:
    """The newest callback carrying `callback_id` (what a waiting job is given)."""
    found = page(conn, source=None, callback_id=callback_id, before=None, limit=1)
    return found[0] if found else None


def delete(conn: sqlite3.Connection, callback_id: str) -> bool:
    """Remove one callback by its full id; False when there was none."""
    return conn.execute("DELETE FROM callbacks WHERE id = ?", (callback_id,)).rowcount > 0


def delete_older_than(conn: sqlite3.Connection, cutoff: float, batch: int = 5000) -> int:
    """Remove at most `batch` callbacks received before `cutoff` (epoch seconds), oldest first;
    returns how many. Call again while it returns `batch` (retention deletes in batches)."""
    return conn.execute(
        """DELETE FROM callbacks WHERE rowid IN (
               SELECT rowid FROM callbacks WHERE received_at < ? ORDER BY received_at LIMIT ?)""",
        (cutoff, batch),
    ).rowcount


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM callbacks").fetchone()[0])
