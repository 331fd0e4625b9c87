"""Results ingest: one job yielding N ~100-byte results, then 20 jobs at once sharing N.

Rate = results stored / (completed_at - started_at) of the job (the daemon's own clock: from
the moment it launches the child until every result is committed), and also / wall clock from
`POST /jobs` until the client sees the job completed (polled every 0.1 s, so up to 0.1 s late).
For 20 jobs: the sum of results over (last completed_at - first started_at), and wall clock.

    .venv/bin/python benchmarks/results_ingest.py [--quick] [--count N] [--jobs J]
"""

from __future__ import annotations

import argparse
import json
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
    parser.add_argument("--count", type=int, help="results for the one-job run (200,000)")
    parser.add_argument("--jobs", type=int, default=20, help="concurrent jobs (20)")


def run_jobs(daemon: Daemon, count: int, jobs: int, timeout: float) -> dict[str, float]:
    per_job = count // jobs
    cpu0, jobs_cpu0 = cpu_seconds(daemon.pid), reaped_cpu_seconds(daemon.pid)
    wall_start = time.monotonic()
    ids = [daemon.start_job("bench-flood", count=per_job) for _ in range(jobs)]
    finals = wait_final(daemon, ids, timeout)
    wall = time.monotonic() - wall_start
    cpu = cpu_seconds(daemon.pid) - cpu0
    jobs_cpu = reaped_cpu_seconds(daemon.pid) - jobs_cpu0
    bad = [j for j in finals if j["status"] != "completed" or j["result_count"] != per_job]
    if bad:
        fields = ("id", "status", "result_count", "error")
        raise SystemExit(
            f"{len(bad)} job(s) did not complete with {per_job} results: "
            + json.dumps([{k: j.get(k) for k in fields} for j in bad])[:400]
        )
    started = min(parse_ts(j["started_at"]) for j in finals)
    completed = max(parse_ts(j["completed_at"]) for j in finals)
    stored = per_job * jobs
    return {
        "stored": stored,
        "engine_seconds": completed - started,
        "wall_seconds": wall,
        "engine_rate": stored / max(completed - started, 1e-3),
        "wall_rate": stored / max(wall, 1e-3),
        "daemon_cpu_seconds": cpu,
        "daemon_cpu_us_per_result": cpu * 1e6 / stored,
        "jobs_cpu_seconds": jobs_cpu,
        "jobs_cpu_us_per_result": jobs_cpu * 1e6 / stored,
    }


def rate_figures(key: str, label: str, run: dict[str, float], note: str) -> list[Figure]:
    return [
        Figure(
            key,
            f"{label} (engine clock)",
            run["engine_rate"],
            "results/s",
            note=f"{run['stored']:,.0f} stored in {run['engine_seconds']:.2f} s {note}; wall clock "
            f"{run['wall_seconds']:.2f} s; the daemon used {run['daemon_cpu_seconds']:.2f} CPU-s "
            f"= {run['daemon_cpu_us_per_result']:.1f} CPU-us per result, the job processes "
            f"{run['jobs_cpu_seconds']:.2f} CPU-s = {run['jobs_cpu_us_per_result']:.1f} per result",
        ),
        Figure(
            key.replace("_per_s", "_wall_per_s"),
            f"{label} (wall clock)",
            run["wall_rate"],
            "results/s",
        ),
        Figure(
            key.replace("_per_s", "_jobs_cpu_us"),
            f"{label}: job processes' CPU per result",
            run["jobs_cpu_us_per_result"],
            "us",
        ),
        Figure(
            key.replace("_per_s", "_cpu_us"),
            f"{label}: daemon CPU per result",
            run["daemon_cpu_us_per_result"],
            "us",
        ),
    ]


def sample_size(daemon: Daemon, job_ids: list[str]) -> float:
    page = daemon.get(f"/jobs/{job_ids[0]}/results", limit=50)
    sizes = [len(json.dumps(r["data"])) for r in page["results"]]
    return sum(sizes) / max(len(sizes), 1)


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (20_000 if args.quick else 200_000)
    jobs = args.jobs
    figures: list[Figure] = []
    errors: list[str] = []
    extra: dict[str, object] = {}
    with bench_daemon() as daemon:
        # Warm-up: the first job pays one-off costs (importing the module, SQLite pages).
        warm = daemon.start_job("bench-flood", count=100)
        wait_final(daemon, [warm], 60)
        size = sample_size(daemon, [warm])
        one = attempt(errors, "1 job", lambda: run_jobs(daemon, count, 1, max(60, count / 500)))
        if one is not None:
            extra["one_job"] = one
            figures += rate_figures(
                "results_one_job_per_s",
                f"results/s, 1 job, {count:,} x ~{size:.0f} B",
                one,
                "(started_at→completed_at)",
            )
        many = attempt(
            errors, f"{jobs} jobs", lambda: run_jobs(daemon, count, jobs, max(90, count / 300))
        )
        if many is not None:
            extra["many_jobs"] = many
            figures += rate_figures(
                "results_20_jobs_per_s",
                f"results/s summed, {jobs} jobs x {count // jobs:,}",
                many,
                "(first started_at→last completed_at)",
            )
    print_table("results ingest", figures, errors)
    write_json(args.json, "results_ingest", figures, extra, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
