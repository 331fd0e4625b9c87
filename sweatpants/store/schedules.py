"""SQL for the `schedules` table (migration 4). Functions take a connection, like jobs.py.

A schedule row holds what to run (module, inputs and settings as stored: secrets sealed),
when (`cron` in `timezone`, or `every` from `start_at`), what to do when runs clash or are
missed, and where it stands: `next_run_at` (persisted after every fire, so a daemon that was
down knows which slots it missed), the last fire and its job. Reads hand back a
`ScheduleRecord`, with the status of the last job joined in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class ScheduleRecord(NamedTuple):
    """One `schedules` row (times in epoch seconds, JSON as text) and its last job's status."""

    id: str
    name: str | None
    module_id: str
    inputs: str  # JSON, secret values sealed
    settings: str  # JSON, the schedule's own (a job starts from the module's stored ones)
    max_duration: str | None
    cron: str | None
    every: str | None
    timezone: str | None  # None: the machine's zone
    start_at: float | None  # where `every` counts from (None: created_at)
    overlap: str
    misfire: str
    misfire_grace: str
    retries: int
    retry_delay: str
    enabled: int
    created_at: float
    updated_at: float
    next_run_at: float | None
    last_run_at: float | None
    last_job_id: str | None
    queued_at: float | None  # a run that waits for the previous one (overlap: queue)
    skipped: int  # runs not started because the previous was still going (overlap: skip)
    last_skipped_at: float | None
    last_status: str | None  # of the last job (joined; None when there is none)


_OWN = [name for name in ScheduleRecord._fields if name != "last_status"]
_COLUMNS = ", ".join(f"s.{name}" for name in _OWN) + ", j.status"
_FROM = "schedules s LEFT JOIN jobs j ON j.id = s.last_job_id"

# Columns a PATCH may set (everything but identity, bookkeeping and the fire history).
CHANGEABLE = frozenset(
    {
        "name",
        "inputs",
        "settings",
        "max_duration",
        "cron",
        "every",
        "timezone",
        "start_at",
        "overlap",
        "misfire",
        "misfire_grace",
        "retries",
        "retry_delay",
        "enabled",
        "next_run_at",
        "queued_at",
        "updated_at",
    }
)

# The jobs a schedule still points at (its `last_job_id`: its status is read from it). Job
# pruning must keep them: `... AND id NOT IN (KEPT_JOB_IDS)` in its DELETE, or
# `kept_job_ids` below for a check in Python.
KEPT_JOB_IDS = "SELECT last_job_id FROM schedules WHERE last_job_id IS NOT NULL"

Params = Sequence[object] | Mapping[str, object]


def _records(conn: sqlite3.Connection, sql: str, params: Params = ()) -> list[ScheduleRecord]:
    cursor = conn.cursor()
    cursor.row_factory = None
    return [ScheduleRecord._make(row) for row in cursor.execute(sql, params).fetchall()]


def insert(conn: sqlite3.Connection, row: Mapping[str, Any]) -> ScheduleRecord:
    """Add a schedule; `row` has every column but the fire history. Returns it as stored."""
    names = [name for name in _OWN if name in row]
    conn.execute(
        f"INSERT INTO schedules ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + name for name in names)})",
        dict(row),
    )
    found = get(conn, str(row["id"]))
    assert found is not None  # an INSERT that did not raise made its row
    return found


def get(conn: sqlite3.Connection, schedule_id: str) -> ScheduleRecord | None:
    found = _records(conn, f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.id = ?", (schedule_id,))
    return found[0] if found else None


def ids_with_prefix(conn: sqlite3.Connection, prefix: str, limit: int = 10) -> list[str]:
    """Schedule ids starting with `prefix`, by a range scan on the key (`%` and `_` are plain)."""
    rows = conn.execute(
        "SELECT id FROM schedules WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        (prefix, prefix + "\U0010ffff", limit),
    )
    return [str(row[0]) for row in rows]


def listed(conn: sqlite3.Connection, *, enabled_only: bool = False) -> list[ScheduleRecord]:
    """Every schedule, oldest first (`enabled_only`: the ones that fire)."""
    where = "WHERE s.enabled = 1" if enabled_only else ""
    return _records(conn, f"SELECT {_COLUMNS} FROM {_FROM} {where} ORDER BY s.created_at, s.id")


def update(
    conn: sqlite3.Connection, schedule_id: str, changes: Mapping[str, Any]
) -> ScheduleRecord | None:
    """Set the given columns (names from `CHANGEABLE` only); returns the schedule as it is now."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    if changes:
        assignments = ", ".join(f"{name} = :{name}" for name in changes)
        conn.execute(
            f"UPDATE schedules SET {assignments} WHERE id = :_id",
            {**changes, "_id": schedule_id},
        )
    return get(conn, schedule_id)


def delete(conn: sqlite3.Connection, schedule_id: str) -> bool:
    """Remove a schedule (its past jobs stay, still naming it); False if there was none."""
    return conn.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,)).rowcount > 0


def due(conn: sqlite3.Connection, now: float) -> list[ScheduleRecord]:
    """Enabled schedules whose next slot has come, or that hold a queued run; soonest first."""
    return _records(
        conn,
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE s.enabled = 1 AND (s.next_run_at <= ? OR s.queued_at IS NOT NULL)
            ORDER BY s.next_run_at, s.id""",
        (now,),
    )


def soonest(conn: sqlite3.Connection) -> ScheduleRecord | None:
    """The enabled schedule that fires next (the index on (enabled, next_run_at) answers it)."""
    found = _records(
        conn,
        f"""SELECT {_COLUMNS} FROM {_FROM}
            WHERE s.enabled = 1 AND s.next_run_at IS NOT NULL
            ORDER BY s.next_run_at LIMIT 1""",
    )
    return found[0] if found else None


def any_queued(conn: sqlite3.Connection) -> bool:
    """Whether an enabled schedule holds a run waiting for its previous one (overlap: queue)."""
    found = conn.execute(
        "SELECT 1 FROM schedules WHERE enabled = 1 AND queued_at IS NOT NULL LIMIT 1"
    ).fetchone()
    return found is not None


def record_fire(
    conn: sqlite3.Connection,
    schedule_id: str,
    *,
    job_id: str,
    fired_at: float,
    next_run_at: float | None,
) -> None:
    """A run was started: it is the schedule's last job; the next slot is `next_run_at`
    (None keeps the stored one: a run started by hand does not move the plan)."""
    conn.execute(
        """UPDATE schedules SET last_job_id = ?, last_run_at = ?, queued_at = NULL,
                  next_run_at = COALESCE(?, next_run_at)
           WHERE id = ?""",
        (job_id, fired_at, next_run_at, schedule_id),
    )


def record_skip(
    conn: sqlite3.Connection, schedule_id: str, *, now: float, next_run_at: float | None
) -> None:
    """A slot passed without a run (the previous one was still going): count it, plan on."""
    conn.execute(
        """UPDATE schedules SET skipped = skipped + 1, last_skipped_at = ?, next_run_at = ?
           WHERE id = ?""",
        (now, next_run_at, schedule_id),
    )


def plan(
    conn: sqlite3.Connection,
    schedule_id: str,
    *,
    next_run_at: float | None,
    queued_at: float | None,
) -> None:
    """Move a schedule's next slot, and set or clear its queued run, without a fire."""
    conn.execute(
        "UPDATE schedules SET next_run_at = ?, queued_at = ? WHERE id = ?",
        (next_run_at, queued_at, schedule_id),
    )


def kept_job_ids(conn: sqlite3.Connection) -> set[str]:
    """The jobs schedules point at (`last_job_id`): job pruning must not delete these."""
    return {row[0] for row in conn.execute(KEPT_JOB_IDS)}
