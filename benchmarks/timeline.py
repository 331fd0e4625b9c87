"""Timeline: how long `GET /jobs/{id}/timeline` takes for a job of 10,000,000 rows (issue 16).

Builds the job's database directly through the store (the same `results.append`,
`logs.append` and `jobs.save_progress` the daemon's writer calls, so its activity slots are
counted as they would be), in a throw-away data directory: N rows, 90% results and 10% log
lines, spread evenly over `--seconds` (a day by default), with a progress sample every minute.
Then starts a daemon on that directory and asks for the timeline over HTTP, 20 times each at
200 and 1,000 buckets, after one untimed request that opens the connections: median and
slowest. For comparison it also times the SQL alone, and once the plain way (`GROUP BY` over
the job's result timestamps), which reads every row.

    .venv/bin/python benchmarks/timeline.py [--quick] [--rows N] [--seconds S]

Target: the slowest answer at 200 buckets <= 200 ms for 10M rows.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from common import Daemon, Figure, arguments, cpu_seconds, print_table, write_json

from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql
from sweatpants.store import results as result_sql
from sweatpants.store import timeline as timeline_sql
from sweatpants.store.db import connect

T0 = 1_780_000_000.0  # the job's start, a fixed moment
BATCH = 10_000  # rows per transaction while building
ASKS = 20  # requests per figure
TARGET_MS = 200.0


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the job")
    parser.add_argument(
        "--seconds", type=float, default=86_400.0, help="how long the job ran (rows spread evenly)"
    )


def build(path: Path, rows: int, seconds: float) -> str:
    """One finished job of `rows` rows; returns its id."""
    Store(path).close()  # creates and migrates the file
    conn = connect(path)
    job_id = str(uuid.uuid4())
    conn.execute("BEGIN IMMEDIATE")
    job_sql.insert(
        conn,
        {
            "id": job_id,
            "module_id": "flood",
            "status": "pending",
            "inputs": "{}",
            "settings": "{}",
            "max_duration": None,
            "max_seconds": None,
            "created_at": T0,
            "executor": "local",
        },
    )
    job_sql.mark_running(conn, job_id, now=T0, pid=None, node="local")
    conn.execute("COMMIT")
    step = seconds / rows
    seq = 0
    last_sample = -1
    for first in range(0, rows, BATCH):
        batch = range(first, min(first + BATCH, rows))
        results: list[result_sql.ResultRow] = []
        logs: list[log_sql.LogRow] = []
        for i in batch:
            ts = T0 + i * step
            if i % 10 == 9:
                logs.append((ts, "INFO", f"line {i}"))
            else:
                seq += 1
                results.append((seq, ts, f'{{"i": {i}}}'))
        conn.execute("BEGIN IMMEDIATE")
        result_sql.append(conn, job_id, results)
        log_sql.append(conn, job_id, logs)
        job_sql.add_counts(conn, job_id, results=len(results), logs=len(logs))
        minute = int(batch[-1] * step) // 60
        if minute != last_sample:  # progress once a minute of the job's time
            last_sample = minute
            timeline_sql.sample_progress(conn, job_id, T0 + minute * 60, batch[-1] + 1, rows)
        conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    job_sql.finish(
        conn, job_id, status="completed", now=T0 + seconds, error=None, traceback=None, exit_code=0
    )
    conn.execute("COMMIT")
    conn.close()
    return job_id


def http_ms(daemon: Daemon, job_id: str, buckets: int) -> list[float]:
    daemon.get(f"/jobs/{job_id}/timeline", buckets=buckets)  # not timed: opens the connections
    times = []
    for _ in range(ASKS):
        began = time.perf_counter()
        answer = daemon.get(f"/jobs/{job_id}/timeline", buckets=buckets)
        times.append((time.perf_counter() - began) * 1000)
        assert len(answer["time"]) <= buckets
    return times


def sql_ms(path: Path, job_id: str, seconds: float, buckets: int) -> list[float]:
    store = Store(path)
    times = []
    for _ in range(ASKS):
        began = time.perf_counter()
        timeline_sql.buckets(store.reader(), job_id, timeline_sql.plan(T0, T0 + seconds, buckets))
        times.append((time.perf_counter() - began) * 1000)
    store.close()
    return times


def plain_ms(path: Path, job_id: str, seconds: float) -> float:
    conn = connect(path)
    width = seconds / 200
    began = time.perf_counter()
    conn.execute(
        "SELECT CAST((ts - ?) / ? AS INTEGER) AS b, count(*) FROM results WHERE job_id = ? "
        "GROUP BY b",
        (T0, width, job_id),
    ).fetchall()
    took = (time.perf_counter() - began) * 1000
    conn.close()
    return took


def main() -> None:
    args = arguments(__doc__.splitlines()[0], extend)
    rows = 200_000 if args.quick else args.rows
    tmp = Path(tempfile.mkdtemp(prefix="sweatpants-bench-timeline-"))
    figures: list[Figure] = []
    try:
        data = tmp / "data"
        data.mkdir()
        path = data / "sweatpants.db"
        began = time.perf_counter()
        job_id = build(path, rows, args.seconds)
        built = time.perf_counter() - began
        size_mb = path.stat().st_size / 1e6
        slots = connect(path).execute(
            "SELECT span, count(*) FROM job_activity WHERE job_id = ? GROUP BY span", (job_id,)
        )
        per_span = ", ".join(f"{span}s: {n:,}" for span, n in slots.fetchall())
        daemon = Daemon(data, {"SWEATPANTS_LOG_LEVEL": "WARNING"})
        try:
            daemon.start(timeout=120)
            cpu_before = cpu_seconds(daemon.pid)
            times = http_ms(daemon, job_id, 200)
            cpu_ms = (cpu_seconds(daemon.pid) - cpu_before) * 1000 / (ASKS + 1)
            figures.append(
                Figure(
                    "timeline_p50_ms",
                    "GET timeline?buckets=200, median",
                    statistics.median(times),
                    "ms",
                )
            )
            figures.append(
                Figure(
                    "timeline_max_ms",
                    f"GET timeline?buckets=200, slowest of {ASKS}",
                    max(times),
                    "ms",
                )
            )
            figures.append(
                Figure(
                    "timeline_cpu_ms",
                    "daemon CPU per request, 200 buckets",
                    cpu_ms,
                    "ms",
                    "hardly moves with the machine's load (see README)",
                )
            )
            times = http_ms(daemon, job_id, 1000)
            figures.append(
                Figure(
                    "timeline_1000_p50_ms",
                    "GET timeline?buckets=1000, median",
                    statistics.median(times),
                    "ms",
                )
            )
        finally:
            daemon.stop()
        sql = sql_ms(path, job_id, args.seconds, 200)
        figures.append(
            Figure("timeline_sql_ms", "the SQL alone, 200 buckets", statistics.median(sql), "ms")
        )
        figures.append(
            Figure(
                "timeline_plain_ms",
                "plain GROUP BY over every result",
                plain_ms(path, job_id, args.seconds),
                "ms",
                "for comparison: what counting the rows themselves costs",
            )
        )
        figures.append(
            Figure(
                "timeline_build_s",
                f"building {rows:,} rows over {args.seconds:,.0f} s",
                built,
                "s",
                f"{rows / built:,.0f} rows/s; database {size_mb:,.0f} MB; activity slots {per_span}",
            )
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_table(f"timeline of a {rows:,}-row job", figures)
    write_json(args.json, "timeline", figures)


if __name__ == "__main__":
    main()
