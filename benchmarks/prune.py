"""Pruning: `/status` latency while 1,000,000 result rows are deleted (issue 15).

One job yields N results (~100 bytes of JSON each: 1,000,000 by default); once it completed,
two client threads ask `GET /status` back to back, first for a few seconds with nothing else
going on (idle), then while `POST /jobs/prune {"older_than": "0s"}` deletes the job and its
rows (in batches through the single writer) until `/status` says no rows are left to purge.
Prints p50/p99/max of `/status` in both phases against the `/status` target of
benchmarks/README.md (p99 <= 50 ms), how long the purge took (rows/s), the daemon's CPU, and
the database file's size before and after (incremental auto-vacuum gives the space back).

    .venv/bin/python benchmarks/prune.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from pathlib import Path

import httpx
from common import (
    TARGETS,
    Daemon,
    Figure,
    arguments,
    attempt,
    bench_daemon,
    cpu_seconds,
    percentile,
    print_table,
    wait_final,
    write_json,
)

TARGETS["prune_status_p99_ms"] = TARGETS["status_busy_p99_ms"]  # the /status target, under load
IDLE_SECONDS = 3.0
PURGE_TIMEOUT = 600.0
CLIENTS = 2


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="results to prune (1,000,000)")


class StatusProbe:
    """Threads asking /status back to back, each on its own connection; latencies in ms."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for _ in range(10_000_000):
                if self._stop.is_set():
                    return
                started = time.perf_counter()
                try:
                    ok = client.get("/status").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - started) * 1000
                with self._lock:
                    if ok:
                        self.samples.append(elapsed)
                    else:
                        self.errors += 1

    def __enter__(self) -> StatusProbe:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(35)


def db_bytes(data_dir: Path) -> int:
    total = 0
    for name in ("sweatpants.db", "sweatpants.db-wal"):
        with contextlib.suppress(OSError):
            total += os.stat(data_dir / name).st_size
    return total


def measure(daemon: Daemon, count: int) -> list[Figure]:
    job_id = daemon.start_job("bench-flood", count=count)
    (job,) = wait_final(daemon, [job_id], max(120, count / 2000))
    if job["status"] != "completed" or int(job["result_count"]) != count:
        raise SystemExit(f"the flood job ended {job['status']} with {job['result_count']} results")
    time.sleep(1.0)  # let the WAL checkpoint settle before the idle phase
    size_before = db_bytes(daemon.data_dir)
    with StatusProbe(daemon.url) as idle:
        time.sleep(IDLE_SECONDS)
    cpu0 = cpu_seconds(daemon.pid)
    with StatusProbe(daemon.url) as busy:
        started = time.monotonic()
        answer = daemon.client().post("/jobs/prune", json={"older_than": "0s"}, timeout=120)
        answered = time.monotonic() - started
        if answer.status_code != 200:
            raise SystemExit(f"prune answered {answer.status_code}: {answer.text[:300]}")
        report = answer.json()
        for _ in range(int(PURGE_TIMEOUT / 0.2)):
            if daemon.get("/status")["database"]["purging_jobs"] == 0:
                break
            time.sleep(0.2)
        purge = time.monotonic() - started
    cpu = cpu_seconds(daemon.pid) - cpu0
    status = daemon.get("/status")["database"]
    size_after = db_bytes(daemon.data_dir)
    if report["results"] != count:
        raise SystemExit(f"prune reported {report['results']} results, expected {count}")
    rows = report["results"] + report["logs"]
    return [
        Figure(
            "prune_idle_p50_ms", "/status p50, idle (before)", percentile(idle.samples, 50), "ms"
        ),
        Figure(
            "prune_idle_p99_ms", "/status p99, idle (before)", percentile(idle.samples, 99), "ms"
        ),
        Figure(
            "prune_status_p50_ms",
            f"/status p50 while {count:,} results are pruned",
            percentile(busy.samples, 50),
            "ms",
        ),
        Figure(
            "prune_status_p99_ms",
            f"/status p99 while {count:,} results are pruned",
            percentile(busy.samples, 99),
            "ms",
            note=f"{len(busy.samples):,} requests by {CLIENTS} clients back to back, "
            f"{busy.errors} failed; max {max(busy.samples, default=0):.1f} ms; idle: "
            f"{len(idle.samples):,} requests in {IDLE_SECONDS:g} s",
        ),
        Figure(
            "prune_rows_per_s",
            "rows purged/s (results + log lines)",
            rows / max(purge, 1e-3),
            "rows/s",
            note=f"prune answered after {answered:.2f} s (purged: {report['purged']}); all "
            f"rows gone after {purge:.2f} s; the daemon used {cpu:.2f} CPU-s",
        ),
        Figure(
            "prune_db_mb_before",
            "database + WAL before",
            size_before / 1e6,
            "MB",
        ),
        Figure(
            "prune_db_mb_after",
            "database + WAL after",
            size_after / 1e6,
            "MB",
            note=f"auto_vacuum {status['auto_vacuum']}, {status['free_bytes'] / 1e6:.2f} MB of "
            "free pages left inside the file",
        ),
    ]


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (50_000 if args.quick else 1_000_000)
    errors: list[str] = []
    with bench_daemon() as daemon:
        figures = attempt(errors, "prune", lambda: measure(daemon, count)) or []
    print_table("prune", figures, errors)
    write_json(args.json, "prune", figures, None, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
