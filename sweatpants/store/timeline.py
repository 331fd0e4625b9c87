"""SQL for a job's activity over time: results and log lines per second, progress samples.

`job_activity` (migration 5) holds, per job, how many results and log lines were stored with
a timestamp in each slot of time, and the last progress reported in it. It keeps three sizes
of slot (`SPANS`: a second, a minute, an hour), each a row per slot in which the job did
something, written in the same savepoint as the rows they count. A timeline of N buckets then
reads at most about N x 60 small rows of the slot size that fits the bucket width, whatever
the number of results or log lines the job has: counting 10M rows of `results` by timestamp
would read every one of them (SQLite keeps no counts in its b-trees).

Why not only seconds: a month-long job writes 2.6M second-slots, which a 200-bucket answer
would have to read; at an hour per slot it reads 720.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

SPANS = (1, 60, 3600)  # slot sizes kept, in seconds
Column = Literal["results", "logs"]


def _grouped(per_second: Mapping[int, int], span: int) -> Mapping[int, int]:
    if span == 1:
        return per_second
    slots: Counter[int] = Counter()
    for second, count in per_second.items():
        slots[second - second % span] += count
    return slots


def _add(
    conn: sqlite3.Connection, job_id: str, column: Column, per_second: Mapping[int, int]
) -> None:
    rows = [
        (job_id, span, slot, count)
        for span in SPANS
        for slot, count in _grouped(per_second, span).items()
        if count
    ]
    if rows:
        conn.executemany(
            f"INSERT INTO job_activity (job_id, span, slot, {column}) VALUES (?, ?, ?, ?) "
            f"ON CONFLICT (job_id, span, slot) DO UPDATE SET {column} = {column} + excluded.{column}",
            rows,
        )


def count(conn: sqlite3.Connection, job_id: str, column: Column, times: Sequence[float]) -> None:
    """Count rows just stored for a job (their timestamps) into its activity slots."""
    if not times:
        return
    first = int(min(times))
    if first == int(max(times)):  # a batch within one second, the usual case: no per-row work
        _add(conn, job_id, column, {first: len(times)})
    else:
        _add(conn, job_id, column, Counter(int(t) for t in times))


def forget_results(conn: sqlite3.Connection, job_id: str, after_seq: int) -> None:
    """Uncount the job's results numbered above `after_seq` (call before deleting them)."""
    found = conn.execute(
        "SELECT CAST(ts AS INTEGER) AS second, -count(*) FROM results "
        "WHERE job_id = ? AND seq > ? GROUP BY second",
        (job_id, after_seq),
    ).fetchall()
    _add(conn, job_id, "results", {int(row[0]): int(row[1]) for row in found})


def forget_job(conn: sqlite3.Connection, job_id: str) -> None:
    """Drop a deleted job's activity (its slots are a few hundred small rows at most per hour)."""
    conn.execute("DELETE FROM job_activity WHERE job_id = ?", (job_id,))


def sample_progress(
    conn: sqlite3.Connection, job_id: str, at: float, done: float, total: float | None
) -> None:
    """Keep `done`/`total` as the job's last progress in the slots holding time `at`."""
    second = int(at)
    conn.executemany(
        "INSERT INTO job_activity (job_id, span, slot, progress_done, progress_total) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job_id, span, slot) DO UPDATE SET "
        "progress_done = excluded.progress_done, progress_total = excluded.progress_total",
        [(job_id, span, second - second % span, done, total) for span in SPANS],
    )


class Plan(NamedTuple):
    """How a time range is cut into buckets: `n_buckets` buckets of `width` seconds from `start`
    (a whole multiple of `span`, the slot size read)."""

    start: int
    width: int
    n_buckets: int
    span: int


def plan(start: float, end: float, buckets: int) -> Plan:
    """At most `buckets` buckets covering [start, end], each a whole number of seconds and a
    whole number of slots of the largest size that fits, so that no slot straddles two."""
    first, last = math.floor(start), max(math.ceil(end), math.floor(start) + 1)
    span = max(s for s in SPANS if s <= math.ceil((last - first) / buckets))
    first -= first % span  # then the width is chosen for the range from there
    width = math.ceil((last - first) / buckets / span) * span
    return Plan(first, width, math.ceil((last - first) / width), span)


Bucket = tuple[int, int, int, float | None, float | None]  # (index, results, logs, done, total)


def buckets(conn: sqlite3.Connection, job_id: str, cut: Plan) -> list[Bucket]:
    """Per non-empty bucket: results and log lines counted in it, and the last progress
    sampled in it (None when none was). Activity outside the range counts in the first or
    last bucket. Reads only the job's slots of size `cut.span`."""
    cursor = conn.cursor()
    cursor.row_factory = None
    # One max() aggregate: SQLite takes the bare progress columns from the row holding it,
    # the latest slot that sampled progress.
    rows: list[Bucket] = cursor.execute(
        """SELECT CASE WHEN slot < :start THEN 0
                       WHEN slot >= :start + :last * :width THEN :last
                       ELSE (slot - :start) / :width END AS bucket,
                  sum(results), sum(logs), progress_done, progress_total,
                  max(CASE WHEN progress_done IS NOT NULL THEN slot END)
           FROM job_activity WHERE job_id = :job AND span = :span
           GROUP BY bucket ORDER BY bucket""",
        {
            "job": job_id,
            "span": cut.span,
            "start": cut.start,
            "width": cut.width,
            "last": cut.n_buckets - 1,
        },
    ).fetchall()
    return [(int(r[0]), int(r[1]), int(r[2]), r[3], r[4]) for r in rows]
