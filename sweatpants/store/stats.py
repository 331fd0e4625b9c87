"""SQL for counts over many jobs: jobs per day by status, the busiest modules.

Both read the jobs created since a moment, by the `jobs_by_created` index; days are the
daemon's local calendar days (SQLite's `localtime` knows the zone's daylight-saving rules).
"""

from __future__ import annotations

import sqlite3

DayCount = tuple[str, str, int]  # (YYYY-MM-DD, status, jobs)
ModuleCount = tuple[str, int, int, int, float]  # (module, jobs, failed, results, run seconds)


def per_day(conn: sqlite3.Connection, since: float) -> list[DayCount]:
    """Jobs created at or after `since`, counted by local day and status."""
    rows = conn.execute(
        "SELECT date(created_at, 'unixepoch', 'localtime') AS day, status, count(*) "
        "FROM jobs WHERE created_at >= ? GROUP BY day, status ORDER BY day",
        (since,),
    ).fetchall()
    return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]


def busiest_modules(
    conn: sqlite3.Connection, since: float, now: float, limit: int
) -> list[ModuleCount]:
    """The modules with the most jobs created at or after `since`, most first: their jobs,
    how many failed, the results they made and the seconds they ran (until `now` for a job
    still running)."""
    rows = conn.execute(
        """SELECT module_id, count(*) AS jobs, sum(status = 'failed'), sum(result_count),
                  total(CASE WHEN started_at IS NOT NULL
                             THEN coalesce(completed_at, ?) - started_at END)
           FROM jobs WHERE created_at >= ?
           GROUP BY module_id ORDER BY jobs DESC, module_id LIMIT ?""",
        (now, since, limit),
    ).fetchall()
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3]), float(r[4])) for r in rows]
