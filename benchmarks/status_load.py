"""`GET /status` throughput and tail latency with 20 connections (Debian's `wrk`).

Runs `wrk -t2 -c20 -d5s --latency http://127.0.0.1:PORT/status` three times:
  idle    no job running;
  busy    20 jobs running, each yielding ~1,000 results/s and 10 log lines/s (20,000 results/s
          summed, the concurrency target of the ingest benchmark);
  flat    20 jobs yielding results as fast as they can (a stress case: 20 busy processes, the
          daemon and wrk share 2 cores).
Also shows how many results the jobs stored during the wrk window, to show the load was real.

    .venv/bin/python benchmarks/status_load.py [--quick] [--duration S] [--jobs N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time

from common import (
    Daemon,
    Figure,
    JobsStuck,
    arguments,
    attempt,
    bench_daemon,
    cpu_seconds,
    print_table,
    stop_jobs,
    wait_final,
    write_json,
)

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def wrk(url: str, duration: int, pid: int, connections: int = 20) -> dict[str, float]:
    """Run wrk; its figures plus the daemon's CPU use meanwhile (per request, and in cores)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    cpu0, t0 = cpu_seconds(pid), time.monotonic()
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=True
    ).stdout
    cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - t0
    figures: dict[str, float] = {}
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"cannot read wrk's output:\n{out}")
    figures["rps"] = float(match.group(1))
    for pct in ("50", "90", "99"):
        found = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if found:
            figures[f"p{pct}_ms"] = float(found.group(1)) * UNITS[found.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    figures["non_2xx"] = float(errors.group(1)) if errors else 0.0
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    figures["socket_errors"] = float(sum(int(g) for g in sockets.groups())) if sockets else 0.0
    total = re.search(r"(\d+) requests in", out)
    figures["requests"] = float(total.group(1)) if total else 0.0
    figures["daemon_cores"] = cpu / wall
    figures["daemon_cpu_ms_per_request"] = cpu * 1000 / max(figures["requests"], 1)
    return figures


def running_count(daemon: Daemon) -> int:
    counts = daemon.get("/status").get("counts", {})
    return int(counts.get("running", 0))


def stored(daemon: Daemon, job_ids: list[str]) -> int:
    return sum(int(daemon.job(job_id)["result_count"]) for job_id in job_ids)


def under_load(daemon: Daemon, jobs: int, rate: int, duration: int) -> dict[str, float]:
    ids = [daemon.start_job("bench-steady", seconds=duration + 4, rate=rate) for _ in range(jobs)]
    figures: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 30
        for _ in range(600):
            if running_count(daemon) >= jobs or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let the jobs get going
        before = stored(daemon, ids)
        start = time.monotonic()
        figures.update(wrk(f"{daemon.url}/status", duration, daemon.pid))
        daemon.reset_client()
        window = time.monotonic() - start
        figures["ingest_per_s"] = (stored(daemon, ids) - before) / window
    finally:
        t0 = time.monotonic()
        stop_jobs(daemon, ids)
        figures["stop_calls_s"] = time.monotonic() - t0
        figures["jobs"] = jobs
        try:
            wait_final(daemon, ids, 60)
            figures["stuck_jobs"] = 0
        except JobsStuck as stuck:
            figures["stuck_jobs"] = len(stuck.job_ids)
            print(f"  ! {stuck}", file=sys.stderr)
        figures["stopped_after_s"] = time.monotonic() - t0
    return figures


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=int, help="seconds per wrk run (5)")
    parser.add_argument("--jobs", type=int, default=20, help="jobs running during the load runs")


def figures_for(name: str, label: str, run: dict[str, float], note: str) -> list[Figure]:
    extra = (
        f"; p50 {run.get('p50_ms', float('nan')):.1f} ms, p90 {run.get('p90_ms', float('nan')):.1f}"
        f" ms; the daemon used {run['daemon_cores']:.2f} cores, "
        f"{run['daemon_cpu_ms_per_request']:.2f} CPU-ms per request"
    )
    if run["non_2xx"] or run["socket_errors"]:
        extra += f"; {run['non_2xx']:.0f} non-2xx, {run['socket_errors']:.0f} socket errors"
    if "ingest_per_s" in run:
        extra += f"; the jobs stored {run['ingest_per_s']:,.0f} results/s meanwhile"
        extra += (
            f"; stopping them: {run['stop_calls_s']:.1f} s for the {run['jobs']:.0f} POST /stop calls, "
            f"all ended after {run['stopped_after_s']:.1f} s"
        )
    if run.get("stuck_jobs"):
        extra += f"; {run['stuck_jobs']:.0f} JOBS NEVER ENDED (see the daemon log below)"
    return [
        Figure(
            f"status_{name}_rps", f"/status req/s, {label}", run["rps"], "req/s", note=note + extra
        ),
        Figure(f"status_{name}_p99_ms", f"/status p99, {label}", run.get("p99_ms"), "ms"),
        Figure(
            f"status_{name}_cpu_ms",
            f"/status daemon CPU per request (all its work), {label}",
            run["daemon_cpu_ms_per_request"],
            "ms",
        ),
    ]


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    duration = args.duration or (2 if args.quick else 5)
    jobs = args.jobs
    runs: dict[str, dict[str, float]] = {}
    errors: list[str] = []
    url = ""
    with bench_daemon() as daemon:
        url = daemon.url
        warm = daemon.start_job("bench-hello")
        wait_final(daemon, [warm], 60)
        phases = {
            "idle": lambda: wrk(f"{daemon.url}/status", duration, daemon.pid),
            "busy": lambda: under_load(daemon, jobs, 1000, duration),
            "flat": lambda: under_load(daemon, jobs, 0, duration),
        }
        for name, phase in phases.items():
            run = attempt(errors, name, phase)
            if run is not None:
                runs[name] = run
        if any(run.get("stuck_jobs") for run in runs.values()) or "Traceback" in daemon.log():
            print("daemon log (tail):\n" + daemon.log()[-2500:], file=sys.stderr)
    cmd = f"wrk -t2 -c20 -d{duration}s --latency {url}/status"
    labels = {
        "idle": "idle",
        "busy": f"{jobs} jobs at 1,000 results/s each",
        "flat": f"{jobs} jobs flat out",
    }
    figures: list[Figure] = []
    for name, label in labels.items():
        if name in runs:
            figures += figures_for(name, label, runs[name], cmd)
    print_table("/status under 20 connections", figures, errors)
    write_json(args.json, "status_load", figures, runs, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
