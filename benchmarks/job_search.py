"""Job search: `GET /jobs` with q / since / sort over 100,000 jobs, p50 and p99 per query.

The jobs are written through the store (`Store.write` with `store.jobs.insert` and `finish`,
the same SQL and triggers the daemon uses), 20 modules, inputs with a URL, a number and a
sealed secret, a fifth of them failed with an error text, spread over 60 days. Then a daemon
is started on that database and each query is asked `--rounds` times over HTTP (client time,
on one keep-alive connection): the figure held to the target is the worst query's p99.

    .venv/bin/python benchmarks/job_search.py [--quick] [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import (
    Figure,
    arguments,
    attempt,
    bench_daemon,
    percentile,
    print_table,
    source_dir,
    write_json,
)

WORDS = [
    *("alpha", "beta", "gamma", "delta", "epsilon", "zeta"),
    *("eta", "theta", "iota", "kappa", "lambda", "omicron"),
]
MODULES = [f"scraper-{n}" for n in range(20)]
DAY = 86400.0


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="jobs in the database (100,000)")
    parser.add_argument("--rounds", type=int, help="times each query is asked (100)")


def build(db_path: Path, count: int) -> dict[str, Any]:
    """`count` jobs written through the store; returns facts the queries use."""
    sys.path.insert(0, str(source_dir()))
    from sweatpants.store import Store
    from sweatpants.store import jobs as job_sql

    rng = random.Random(16)
    store = Store(db_path)
    store.open()
    now = time.time()
    start = now - 60 * DAY
    step = 60 * DAY / count
    first_id = ""
    began = time.monotonic()
    futures = []
    for n in range(count):
        job_id = str(uuid.uuid4())
        first_id = first_id or job_id
        word = rng.choice(WORDS)
        inputs = {
            "url": f"https://shop{n % 700}.example/{word}/{n}",
            "pages": n % 97,
            "api_key": {"$sealed": "gAAAAAB" + uuid.uuid4().hex * 2},
        }
        row = {
            "id": job_id,
            "module_id": MODULES[n % len(MODULES)],
            "status": "pending",
            "inputs": json.dumps(inputs),
            "settings": "{}",
            "max_duration": None,
            "max_seconds": None,
            "created_at": start + n * step,
            "executor": "local",
        }
        failed = n % 5 == 0
        error = f"HTTPError: 503 from shop{n % 700}.example ({word})" if failed else None
        ended = start + n * step + rng.uniform(1, 3000)
        results = rng.randint(0, 50_000)

        def write(
            conn: Any,
            row: dict[str, Any] = row,
            error: str | None = error,
            ended: float = ended,
            results: int = results,
        ) -> None:
            job_sql.insert(conn, row)
            conn.execute(
                "UPDATE jobs SET started_at = created_at + 0.5, result_count = ? WHERE id = ?",
                (results, row["id"]),
            )
            job_sql.finish(
                conn,
                row["id"],
                status="failed" if error else "completed",
                now=ended,
                error=error,
                traceback=None,
                exit_code=1 if error else 0,
            )

        futures.append(store.writer.submit(write, wait=True))
        if len(futures) >= 5000:
            for future in futures:
                assert future is not None
                future.result(timeout=120)
            futures.clear()
    for future in futures:
        assert future is not None
        future.result(timeout=120)
    seconds = time.monotonic() - began
    store.close()
    return {"first_id": first_id, "build_seconds": seconds}


def queries(first_id: str) -> dict[str, dict[str, Any]]:
    return {
        "newest page (no filter)": {},
        "q: a rare word (1 job)": {"q": "shop123.example/theta/100123"},
        "q: no match": {"q": "nothing-like-this"},
        "q: common (a word in 1/12 of jobs)": {"q": "theta"},
        "q: an error text": {"q": "503 from shop42."},
        "q: a module": {"q": "scraper-7"},
        "q: an id prefix": {"q": first_id[:8]},
        "since=2d": {"since": "2d"},
        "since..until, 10 days": {"since": "20d", "until": "10d"},
        "status=failed + q rare": {"status": "failed", "q": "shop77.example"},
        "sort=duration": {"sort": "duration"},
        "sort=results asc": {"sort": "results", "order": "asc"},
        "sort=results + q common": {"sort": "results", "q": "kappa"},
    }


def sql_times(
    db_path: Path, params: dict[str, Any], rounds: int
) -> tuple[list[float], list[float]]:
    """The query alone, in this process on a reader connection: its wall time and CPU time
    (the CPU time hardly moves with the machine's load), in ms."""
    from sweatpants.jobs.search import parse_time
    from sweatpants.store.db import connect
    from sweatpants.store.job_search import JobFilter, search

    conn = connect(db_path)
    now = time.time()
    where = JobFilter(
        status=params.get("status"),
        q=params.get("q"),
        since=parse_time(params["since"], "since", now) if "since" in params else None,
        until=parse_time(params["until"], "until", now) if "until" in params else None,
    )
    sort, order = params.get("sort", "created"), params.get("order", "desc")
    times: list[float] = []
    cpu: list[float] = []
    try:
        for _ in range(rounds + 1):
            began, began_cpu = time.perf_counter(), time.thread_time()
            search(conn, where, sort=sort, order=order, limit=100)
            times.append((time.perf_counter() - began) * 1000)
            cpu.append((time.thread_time() - began_cpu) * 1000)
    finally:
        conn.close()
    return times[1:], cpu[1:]  # the first warmed the page cache


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (10_000 if args.quick else 100_000)
    rounds = args.rounds or (20 if args.quick else 100)
    figures: list[Figure] = []
    errors: list[str] = []
    extra: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sp-bench-search-") as tmp:
        db_path = Path(tmp) / "jobs.db"
        facts = build(db_path, count)
        extra["build_seconds"] = facts["build_seconds"]
        with bench_daemon({"SWEATPANTS_DB_PATH": str(db_path)}) as daemon:
            worst = worst_sql = worst_cpu = 0.0
            for label, params in queries(facts["first_id"]).items():

                def ask(params: dict[str, Any] = params) -> list[float]:
                    times: list[float] = []
                    daemon.get("/jobs", **params)  # warm the page cache once
                    for _ in range(rounds):
                        began = time.perf_counter()
                        page = daemon.get("/jobs", **params)
                        times.append((time.perf_counter() - began) * 1000)
                        assert isinstance(page.get("jobs"), list)
                    return times

                times = attempt(errors, label, ask)
                measured = attempt(
                    errors, f"{label} (SQL)", lambda p=params: sql_times(db_path, p, rounds)
                )
                if times is None or measured is None:
                    continue
                sql, cpu = measured
                p50, p99 = percentile(times, 50), percentile(times, 99)
                worst = max(worst, p99)
                worst_sql = max(worst_sql, percentile(sql, 99))
                extra[label] = {
                    "p50_ms": p50,
                    "p99_ms": p99,
                    "sql_p50_ms": percentile(sql, 50),
                    "sql_p99_ms": percentile(sql, 99),
                    "sql_cpu_p50_ms": percentile(cpu, 50),
                    "sql_cpu_p99_ms": percentile(cpu, 99),
                }
                worst_cpu = max(worst_cpu, percentile(cpu, 99))
                figures.append(
                    Figure(
                        f"job_search_{label}",
                        f"{label}: p50 / p99",
                        p50,
                        "ms",
                        note=f"p99 {p99:.1f} ms; the SQL alone p50 {percentile(sql, 50):.1f} "
                        f"/ p99 {percentile(sql, 99):.1f} ms, its CPU p50 "
                        f"{percentile(cpu, 50):.1f} / p99 {percentile(cpu, 99):.1f} ms",
                    )
                )
            figures.append(
                Figure(
                    "job_search_p99_ms",
                    f"worst p99 over the queries above, {count:,} jobs",
                    worst,
                    "ms",
                    note=f"{count:,} jobs built through the store in "
                    f"{facts['build_seconds']:.1f} s; {rounds} rounds per query, client time "
                    "over HTTP on a keep-alive connection",
                )
            )
            figures.append(
                Figure(
                    "job_search_sql_p99_ms",
                    "worst p99 of the SQL alone (in process)",
                    worst_sql,
                    "ms",
                )
            )
            figures.append(
                Figure(
                    "job_search_sql_cpu_p99_ms",
                    "worst p99 of the SQL's CPU time (what one free core would take)",
                    worst_cpu,
                    "ms",
                )
            )
    print_table("job search", figures, errors)
    write_json(args.json, "job_search", figures, extra, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
