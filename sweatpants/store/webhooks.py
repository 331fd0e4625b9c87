"""SQL for webhooks and the durable delivery queue (`deliveries`).

A delivery is one request to send: a webhook's event or a module's signed callback. It is
written before anything is sent and updated after each attempt, so a daemon that stops (or
is killed) between attempts picks the queue up again at its next start. Rows are small: the
body is the job as the API shows it, or a callback's payload. Reads hand back plain records
(`WebhookRecord`, `DeliveryRecord`), never `sqlite3.Row`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class WebhookRecord(NamedTuple):
    id: str
    url: str
    events: str  # JSON list of event names
    module_id: str | None
    secret: str | None  # sealed JSON (`{"secret": {"$sealed": ...}}`), never plain
    enabled: int
    created_at: float
    updated_at: float


class DeliveryRecord(NamedTuple):
    id: str
    kind: str  # webhook | callback
    webhook_id: str | None
    event: str
    job_id: str | None
    url: str
    payload: str  # JSON: the job (webhooks) or the callback's payload
    secret: str | None  # sealed JSON, as in WebhookRecord
    token_sub: int | None
    token_issuer: str | None
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: float
    created_at: float
    last_attempt_at: float | None
    response_code: int | None
    duration_ms: float | None
    error: str | None
    delivered_at: float | None


WEBHOOK_COLUMNS = ", ".join(WebhookRecord._fields)
DELIVERY_COLUMNS = ", ".join(DeliveryRecord._fields)
# Shown in lists: every column but the payload and the secret (`NULL` keeps the record shape).
DELIVERY_SUMMARY = DELIVERY_COLUMNS.replace("payload", "'' AS payload").replace(
    "secret", "NULL AS secret"
)


def _cursor(conn: sqlite3.Connection) -> sqlite3.Cursor:
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor


# ----- webhooks


def add_webhook(conn: sqlite3.Connection, row: Mapping[str, Any]) -> WebhookRecord:
    found = (
        _cursor(conn)
        .execute(
            f"""INSERT INTO webhooks (id, url, events, module_id, secret, enabled, created_at,
                                 updated_at)
           VALUES (:id, :url, :events, :module_id, :secret, :enabled, :created_at, :updated_at)
           RETURNING {WEBHOOK_COLUMNS}""",
            row,
        )
        .fetchall()
    )
    return WebhookRecord._make(found[0])


def webhooks(conn: sqlite3.Connection) -> list[WebhookRecord]:
    rows = (
        _cursor(conn)
        .execute(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY created_at, id")
        .fetchall()
    )
    return [WebhookRecord._make(row) for row in rows]


def webhook(conn: sqlite3.Connection, webhook_id: str) -> WebhookRecord | None:
    rows = (
        _cursor(conn)
        .execute(f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?", (webhook_id,))
        .fetchall()
    )
    return WebhookRecord._make(rows[0]) if rows else None


def change_webhook(
    conn: sqlite3.Connection, webhook_id: str, changes: Mapping[str, Any]
) -> WebhookRecord | None:
    """Set the given columns (names from our own code, never from a request's keys)."""
    allowed = {"url", "events", "module_id", "secret", "enabled", "updated_at"}
    names = [name for name in changes if name in allowed]
    assignments = ", ".join(f"{name} = :{name}" for name in names)
    rows = (
        _cursor(conn)
        .execute(
            f"UPDATE webhooks SET {assignments} WHERE id = :id RETURNING {WEBHOOK_COLUMNS}",
            {**{name: changes[name] for name in names}, "id": webhook_id},
        )
        .fetchall()
    )
    return WebhookRecord._make(rows[0]) if rows else None


def remove_webhook(conn: sqlite3.Connection, webhook_id: str) -> bool:
    """Delete a webhook and its deliveries (those still pending are never sent)."""
    gone = conn.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,)).rowcount
    conn.execute("DELETE FROM deliveries WHERE webhook_id = ?", (webhook_id,))
    return gone > 0


# ----- deliveries


def enqueue(conn: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    conn.executemany(
        """INSERT INTO deliveries (id, kind, webhook_id, event, job_id, url, payload, secret,
                                  token_sub, token_issuer, status, attempts, next_attempt_at,
                                  created_at)
           VALUES (:id, :kind, :webhook_id, :event, :job_id, :url, :payload, :secret,
                   :token_sub, :token_issuer, 'pending', 0, :next_attempt_at, :created_at)""",
        rows,
    )


def due(
    conn: sqlite3.Connection, now: float, limit: int, skip: Sequence[str] = ()
) -> list[DeliveryRecord]:
    """Pending deliveries whose next attempt is due, oldest due first, except `skip` (those
    being sent now)."""
    sql = f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending' "
    sql += "AND next_attempt_at <= ?"
    params: list[object] = [now]
    if skip:
        sql += f" AND id NOT IN ({','.join('?' * len(skip))})"
        params.extend(skip)
    sql += " ORDER BY next_attempt_at LIMIT ?"
    params.append(limit)
    return [DeliveryRecord._make(row) for row in _cursor(conn).execute(sql, params).fetchall()]


def next_due_at(conn: sqlite3.Connection) -> float | None:
    row = conn.execute(
        "SELECT min(next_attempt_at) FROM deliveries WHERE status = 'pending'"
    ).fetchone()
    return float(row[0]) if row is not None and row[0] is not None else None


def record_attempt(
    conn: sqlite3.Connection, delivery_id: str, outcome: Mapping[str, Any]
) -> DeliveryRecord | None:
    """One attempt's outcome: `status`, `next_attempt_at`, `last_attempt_at`,
    `response_code`, `duration_ms`, `error`, `delivered_at`; attempts counts up."""
    rows = (
        _cursor(conn)
        .execute(
            f"""UPDATE deliveries SET status = :status, attempts = attempts + 1,
                  next_attempt_at = :next_attempt_at, last_attempt_at = :last_attempt_at,
                  response_code = :response_code, duration_ms = :duration_ms, error = :error,
                  delivered_at = :delivered_at
           WHERE id = :id
           RETURNING {DELIVERY_SUMMARY}""",
            {**outcome, "id": delivery_id},
        )
        .fetchall()
    )
    return DeliveryRecord._make(rows[0]) if rows else None


def delivery(conn: sqlite3.Connection, delivery_id: str) -> DeliveryRecord | None:
    rows = (
        _cursor(conn)
        .execute(f"SELECT {DELIVERY_SUMMARY} FROM deliveries WHERE id = ?", (delivery_id,))
        .fetchall()
    )
    return DeliveryRecord._make(rows[0]) if rows else None


def deliveries(
    conn: sqlite3.Connection,
    *,
    webhook_id: str | None = None,
    job_id: str | None = None,
    before: tuple[float, str] | None = None,
    limit: int = 100,
) -> list[DeliveryRecord]:
    """Newest first, without payloads; `before` is the (created_at, id) of the previous page's
    last delivery."""
    clauses: list[str] = []
    params: list[object] = []
    if webhook_id is not None:
        clauses.append("webhook_id = ?")
        params.append(webhook_id)
    if job_id is not None:
        clauses.append("job_id = ?")
        params.append(job_id)
    if before is not None:
        clauses.append("(created_at < ? OR (created_at = ? AND id < ?))")
        params.extend([before[0], before[0], before[1]])
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = (
        _cursor(conn)
        .execute(
            f"SELECT {DELIVERY_SUMMARY} FROM deliveries {where} "
            "ORDER BY created_at DESC, id DESC LIMIT ?",
            [*params, limit],
        )
        .fetchall()
    )
    return [DeliveryRecord._make(row) for row in rows]


def prune_deliveries(conn: sqlite3.Connection, ended_before: float, limit: int = 2000) -> int:
    """Delete finished deliveries (delivered or failed) last tried before `ended_before`."""
    return max(
        conn.execute(
            "DELETE FROM deliveries WHERE rowid IN (SELECT rowid FROM deliveries "
            "WHERE status != 'pending' AND COALESCE(last_attempt_at, created_at) < ? LIMIT ?)",
            (ended_before, limit),
        ).rowcount,
        0,
    )
