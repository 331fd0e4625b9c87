"""Log ingest: one job calling `await self.log(...)` N times with ~100-character lines.

Rate = lines stored / (completed_at - started_at) of the job (daemon clock), and / wall clock
from `POST /jobs` until the client sees it completed. The stored count is checked through the
job's `log_count` and by paging the last entries.

    .venv/bin/python benchmarks/log_ingest.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import time

from common import (
    Daemon,
    Figure,
    arguments,
    attempt,
    bench_daemon,
    cpu_seconds,
    parse_ts,
    print_table,
    reaped_cpu_seconds,
    wait_final,
    write_json,
)


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="log lines (200,000)")


def measure(daemon: Daemon, count: int) -> list[Figure]:
    cpu0, jobs_cpu0 = cpu_seconds(daemon.pid), reaped_cpu_seconds(daemon.pid)
    wall_start = time.monotonic()
    job_id = daemon.start_job("bench-chatter", count=count)
    (job,) = wait_final(daemon, [job_id], max(60, count / 500))
    wall = time.monotonic() - wall_start
    cpu = cpu_seconds(daemon.pid) - cpu0
    jobs_cpu = reaped_cpu_seconds(daemon.pid) - jobs_cpu0
    if job["status"] != "completed":
        raise SystemExit(f"the job ended {job['status']}: {job.get('error')}")
    tail = daemon.get(f"/jobs/{job_id}/logs", limit=5)["logs"]
    stored = int(job["log_count"])
    engine = parse_ts(job["completed_at"]) - parse_ts(job["started_at"])
    expected = f"line {count - 1:08d}"
    if not any(entry["message"].startswith(expected) for entry in tail):
        last = tail[-1]["message"] if tail else ""
        raise SystemExit(f"the last module line ({expected}...) is missing; last stored: {last!r}")
    if stored < count:
        raise SystemExit(f"log_count {stored} < {count} lines logged")
    return [
        Figure(
            "logs_per_s",
            f"log lines/s, 1 job, {count:,} lines (engine clock)",
            count / max(engine, 1e-3),
            "lines/s",
            note=f"{count:,} lines in {engine:.2f} s (started_at→completed_at), log_count "
            f"{stored:,}; wall clock {wall:.2f} s; the daemon used {cpu:.2f} CPU-s",
        ),
        Figure("logs_wall_per_s", "log lines/s, 1 job (wall clock)", count / wall, "lines/s"),
        Figure("logs_cpu_us", "daemon CPU per log line", cpu * 1e6 / count, "us"),
        Figure("logs_jobs_cpu_us", "job process CPU per log line", jobs_cpu * 1e6 / count, "us"),
    ]


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (20_000 if args.quick else 200_000)
    errors: list[str] = []
    with bench_daemon() as daemon:
        warm = daemon.start_job("bench-chatter", count=100)
        wait_final(daemon, [warm], 60)
        figures = attempt(errors, "log ingest", lambda: measure(daemon, count)) or []
    print_table("log ingest", figures, errors)
    write_json(args.json, "log_ingest", figures, None, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
