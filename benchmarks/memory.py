"""Memory: the daemon's idle RSS (and its helper processes'), then RSS while one job writes
1,000,000 ~100-byte results, sampled every 0.5 s.

Idle: VmRSS from /proc/PID/status of the daemon 2 s after it answers, and again after a first
job has run (warm). The fork server and a running job process are shown separately, with PSS
(proportional set size from /proc/PID/smaps_rollup), since forked processes share pages with
the fork server and RSS counts the shared pages in each of them.

Flat: growth = RSS at the end of the job minus RSS when 10% of the results were stored (the
first 10% absorbs one-off warm-up: SQLite page cache, buffers); slope = least squares of RSS
against results stored, in MB per 100,000 results. A daemon that kept every result (or a
reference to each) would grow by >100 MB here; target: growth <= 20 MB.

    .venv/bin/python benchmarks/memory.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import (
    Daemon,
    Figure,
    Tree,
    arguments,
    attempt,
    bench_daemon,
    descendants,
    print_table,
    process_tree,
    rss_mb,
    slope,
    stop_jobs,
    wait_final,
    write_json,
)

SAMPLE_SECONDS = 0.5


def pss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def settle(seconds: float) -> None:
    time.sleep(seconds)


def helpers_note(tree: Tree) -> str:
    helpers = tree.fork_servers + tree.warm + tree.jobs + tree.other
    if not helpers:
        return "no helper processes"
    return "; ".join(
        f"{tree.role(pid)} {pid}: RSS {rss_mb(pid) or 0:.1f} MB, PSS {pss_mb(pid) or 0:.1f} MB"
        for pid in helpers
    )


def idle_figures(daemon: Daemon) -> list[Figure]:
    settle(2.0)
    tree = process_tree(daemon.pid)
    figures = [
        Figure(
            "daemon_idle_rss_mb",
            "daemon RSS, idle (fresh)",
            rss_mb(daemon.pid),
            "MB",
            note=f"daemon PSS {pss_mb(daemon.pid) or 0:.1f} MB; helpers: {helpers_note(tree)}",
        )
    ]
    for pid in tree.fork_servers[:1]:
        figures.append(Figure("forkserver_rss_mb", "fork server RSS", rss_mb(pid), "MB"))
        figures.append(Figure("forkserver_pss_mb", "fork server PSS", pss_mb(pid), "MB"))
    if tree.warm:
        figures.append(
            Figure(
                "warm_runners_rss_mb",
                f"warm runners, RSS summed ({len(tree.warm)})",
                sum(rss_mb(pid) or 0 for pid in tree.warm),
                "MB",
            )
        )
    figures.append(
        Figure(
            "daemon_tree_idle_pss_mb",
            "daemon + helpers, PSS summed, idle",
            sum(pss_mb(pid) or 0 for pid in [daemon.pid, *descendants(daemon.pid)]),
            "MB",
        )
    )
    job_id = daemon.start_job("bench-sleeper", seconds=20)
    pid = None
    for _ in range(200):  # at most ~10 s
        job = daemon.job(job_id)
        pid = job.get("pid")
        if job["status"] == "running" and pid and rss_mb(pid):
            break
        time.sleep(0.05)
    settle(1.0)
    if pid:
        tree = process_tree(daemon.pid, {pid})
        figures.append(
            Figure(
                "job_rss_mb",
                "job process RSS (sleeping module)",
                rss_mb(pid),
                "MB",
                note=helpers_note(tree),
            )
        )
        figures.append(Figure("job_pss_mb", "job process PSS (sleeping module)", pss_mb(pid), "MB"))
    figures.append(
        Figure("daemon_one_job_rss_mb", "daemon RSS, one job running", rss_mb(daemon.pid), "MB")
    )
    stop_jobs(daemon, [job_id])
    wait_final(daemon, [job_id], 30)
    settle(1.0)
    figures.append(
        Figure("daemon_warm_idle_rss_mb", "daemon RSS, idle after a job", rss_mb(daemon.pid), "MB")
    )
    return figures


def flat_figures(daemon: Daemon, count: int) -> tuple[list[Figure], list[tuple[float, float, int]]]:
    before = rss_mb(daemon.pid) or 0.0
    job_id = daemon.start_job("bench-flood", count=count)
    samples: list[tuple[float, float, int]] = []  # (seconds, RSS MB, results stored)
    start = time.monotonic()
    limit = max(120.0, count / 2_000)
    status = "running"
    for _ in range(int(limit / SAMPLE_SECONDS) + 1):
        rss = rss_mb(daemon.pid)
        job = daemon.job(job_id)
        status = job["status"]
        if rss is not None:
            samples.append((time.monotonic() - start, rss, int(job["result_count"])))
        if status not in ("pending", "running") or time.monotonic() - start > limit:
            break
        time.sleep(SAMPLE_SECONDS)
    if status != "completed":
        raise SystemExit(f"the 1M-results job ended {status} (or ran over {limit:.0f} s)")
    during = [s for s in samples[:-1] if s[2] < count] or samples
    rss_values = [s[1] for s in during]
    tenth = next((s for s in during if s[2] >= count // 10), during[0])
    last = during[-1]
    per_100k = slope([(s[2] / 100_000, s[1]) for s in during])
    second_half = [s for s in during if s[2] >= count // 2]
    per_100k_late = slope([(s[2] / 100_000, s[1]) for s in second_half])
    per_s = slope([(s[0], s[1]) for s in during])
    settle(1.0)
    after = rss_mb(daemon.pid)
    figures = [
        Figure(
            "memory_1m_growth_mb",
            f"RSS growth, 10% → end of {count:,} results",
            last[1] - tenth[1],
            "MB",
            note=f"{len(samples)} samples every {SAMPLE_SECONDS} s over {samples[-1][0]:.1f} s; "
            f"before the job {before:.1f} MB, after it {after or 0:.1f} MB",
        ),
        Figure("memory_1m_min_mb", "RSS min during the job", min(rss_values), "MB"),
        Figure("memory_1m_max_mb", "RSS max during the job", max(rss_values), "MB"),
        Figure("memory_1m_last_mb", "RSS last sample during the job", last[1], "MB"),
        Figure("memory_1m_slope_mb_per_100k", "RSS slope (whole job)", per_100k, "MB/100k results"),
        Figure(
            "memory_1m_slope_late_mb_per_100k",
            "RSS slope (second half)",
            per_100k_late,
            "MB/100k results",
        ),
        Figure("memory_1m_slope_mb_per_s", "RSS slope over time", per_s, "MB/s"),
    ]
    return figures, samples


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="results of the big job (1,000,000)")


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (100_000 if args.quick else 1_000_000)
    errors: list[str] = []
    figures: list[Figure] = []
    samples: list[tuple[float, float, int]] = []
    with bench_daemon() as daemon:
        figures += attempt(errors, "idle", lambda: idle_figures(daemon)) or []
        flat = attempt(errors, "1M results", lambda: flat_figures(daemon, count))
        if flat is not None:
            figures += flat[0]
            samples = flat[1]
    print_table("memory", figures, errors)
    write_json(args.json, "memory", figures, {"samples": samples}, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
