"""1,000 schedules firing every 60 s: the daemon's CPU between fires, due → start delay, /status.

Makes N schedules (1,000; --quick 100) of a no-op module, `every: 60s`, their first slots
spread evenly over one minute (`start_at`), so that from then on one fires every 60/N s. Then:
  between fires   the daemon's CPU over 10 s before the first slot (every schedule enabled,
                  none due): what the scheduler loop costs while it waits;
  firing          one full minute (--quick: 20 s) of fires, with `wrk -t2 -c20 --latency`
                  on /status for 10 s (--quick: 5 s) in the middle; the daemon's CPU meanwhile;
  delays          for every run made in the window: due slot → job created (the loop's lag)
                  and due slot → job started (what the issue's target is about), p50/p99/max.

    .venv/bin/python benchmarks/schedules.py [--quick] [--count N] [--window S]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from common import (
    Daemon,
    Figure,
    arguments,
    attempt,
    bench_daemon,
    cpu_seconds,
    parse_ts,
    percentile,
    print_table,
    write_json,
)
from status_load import wrk

INTERVAL = 60.0
IDLE_WINDOW = 10.0


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def make_schedules(daemon: Daemon, count: int, first: float) -> dict[str, float]:
    """`count` schedules, slot i at first + i * 60/count; returns id → start_at."""
    anchors: dict[str, float] = {}
    client = daemon.client()
    for i in range(count):
        start = first + i * INTERVAL / count
        answer = client.post(
            "/schedules",
            json={"module_id": "bench-hello", "every": "60s", "start_at": iso(start)},
        )
        if answer.status_code != 200:
            raise SystemExit(f"POST /schedules answered {answer.status_code}: {answer.text}")
        anchors[answer.json()["id"]] = start
    return anchors


def scheduled_jobs(daemon: Daemon) -> list[dict[str, Any]]:
    """Every job the schedules made (a page of up to 1,000 at a time, bounded)."""
    jobs: list[dict[str, Any]] = []
    before = None
    for _ in range(1000):
        params: dict[str, Any] = {"trigger": "schedule", "limit": 1000}
        if before:
            params["before"] = before
        page = daemon.get("/jobs", **params)
        jobs.extend(page["jobs"])
        before = page.get("next_cursor")
        if not before:
            break
    return jobs


def delays(jobs: list[dict[str, Any]], anchors: dict[str, float]) -> dict[str, list[float]]:
    """Seconds from each run's due slot to its job's creation and to its start."""
    created, started = [], []
    for job in jobs:
        anchor = anchors.get(job.get("schedule_id") or "")
        if anchor is None or not job.get("started_at"):
            continue
        made = parse_ts(job["created_at"])
        slot = anchor + ((made - anchor) // INTERVAL) * INTERVAL
        created.append(made - slot)
        started.append(parse_ts(job["started_at"]) - slot)
    return {"created": created, "started": started}


def in_span(job: dict[str, Any], span: tuple[float, float]) -> bool:
    made = parse_ts(job["created_at"])
    return span[0] - 3 <= made <= span[1] + 3  # with a margin for runs late into or out of it


def wait_until(moment: float) -> None:
    for _ in range(100_000):
        left = moment - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="schedules (1,000; --quick 100)")
    parser.add_argument("--window", type=float, help="seconds of fires measured (60; --quick 20)")


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (100 if args.quick else 1000)
    window = args.window or (20.0 if args.quick else 60.0)
    wrk_seconds = 5 if args.quick else 10
    runs: dict[str, Any] = {}
    errors: list[str] = []
    with bench_daemon() as daemon:
        warm = daemon.start_job("bench-hello")
        for _ in range(600):
            if daemon.job(warm)["status"] in ("completed", "failed"):
                break
            time.sleep(0.05)
        t0 = time.monotonic()
        first = time.time() + 30 + count * 0.03  # after the creation and the idle window
        anchors = attempt(errors, "create", lambda: make_schedules(daemon, count, first))
        runs["create_s"] = time.monotonic() - t0
        if anchors:

            def idle() -> dict[str, float]:
                cpu0, wall0 = cpu_seconds(daemon.pid), time.monotonic()
                time.sleep(min(IDLE_WINDOW, max(1.0, first - time.time() - 1)))
                wall = time.monotonic() - wall0
                return {"cores": (cpu_seconds(daemon.pid) - cpu0) / wall, "seconds": wall}

            runs["idle"] = attempt(errors, "between fires", idle)
            wait_until(first)

            def firing() -> dict[str, Any]:
                end = first + window
                cpu0, wall0 = cpu_seconds(daemon.pid), time.monotonic()
                wait_until(first + (window - wrk_seconds) / 2)
                quiet_cpu, quiet_wall = cpu_seconds(daemon.pid) - cpu0, time.monotonic() - wall0
                loaded_from = time.time()
                status = wrk(f"{daemon.url}/status", wrk_seconds, daemon.pid)
                loaded_until = time.time()
                daemon.reset_client()
                wait_until(end)
                wall = time.monotonic() - wall0
                cores = (cpu_seconds(daemon.pid) - cpu0) / wall
                fires = quiet_wall * count / INTERVAL
                return {
                    "status": status,
                    "cores": cores,
                    "cpu_ms_per_run": quiet_cpu * 1000 / fires,
                    "loaded": (loaded_from, loaded_until),
                }

            runs["firing"] = attempt(errors, "firing", firing)
            wait_until(time.time() + 5)  # the window's last runs start
            jobs = attempt(errors, "jobs", lambda: scheduled_jobs(daemon))
            if jobs is not None:
                in_window = [j for j in jobs if parse_ts(j["created_at"]) < first + window]
                runs["delays"] = delays(in_window, anchors)
                loaded = (runs.get("firing") or {}).get("loaded")
                if loaded:  # the runs made while wrk hammered /status, and the others
                    inside = [j for j in in_window if in_span(j, loaded)]
                    outside = [j for j in in_window if not in_span(j, loaded)]
                    runs["delays_quiet"] = delays(outside, anchors)
                    runs["delays_loaded"] = delays(inside, anchors)
                runs["runs"] = len(in_window)
                runs["expected"] = int(window / INTERVAL * count)
                runs["failed"] = sum(j["status"] == "failed" for j in in_window)
        if "Traceback" in daemon.log():
            print("daemon log (tail):\n" + daemon.log()[-2500:])
    figures = figures_of(runs, count, window)
    print_table(f"{count} schedules every 60 s", figures, errors)
    write_json(args.json, "schedules", figures, runs, errors)
    return 0


def figures_of(runs: dict[str, Any], count: int, window: float) -> list[Figure]:
    figures: list[Figure] = []
    idle = runs.get("idle")
    if idle:
        figures.append(
            Figure(
                "schedules_idle_cpu_pct",
                f"daemon CPU between fires, {count} schedules enabled",
                idle["cores"] * 100,
                "% of a core",
                note=f"over {idle['seconds']:.0f} s before the first slot; creating them took "
                f"{runs.get('create_s', 0):.1f} s",
            )
        )
    found = runs.get("delays")
    if found and found["started"]:
        started = [d * 1000 for d in found["started"]]
        created = [d * 1000 for d in found["created"]]
        note = (
            f"{runs['runs']} runs in {window:.0f} s (expected ~{runs['expected']}), "
            f"{runs['failed']} failed; due → created p50 {percentile(created, 50):.0f} ms, "
            f"p99 {percentile(created, 99):.0f} ms; due → started max {max(started):.0f} ms"
        )
        for key, label in (("delays_quiet", "without"), ("delays_loaded", "during")):
            part = runs.get(key)
            if part and part["started"]:
                late = [d * 1000 for d in part["started"]]
                note += (
                    f"; {label} the /status load ({len(late)} runs): p50 "
                    f"{percentile(late, 50):.0f} ms, p99 {percentile(late, 99):.0f} ms"
                )
        figures += [
            Figure(
                "schedule_start_delay_p50_ms",
                "due → job started, p50",
                percentile(started, 50),
                "ms",
                note=note,
            ),
            Figure(
                "schedule_start_delay_p99_ms",
                "due → job started, p99",
                percentile(started, 99),
                "ms",
            ),
        ]
    firing = runs.get("firing")
    if firing:
        status = firing["status"]
        figures += [
            Figure(
                "schedules_firing_cpu_pct",
                f"daemon CPU while firing ({count / INTERVAL:.1f} runs/s)",
                firing["cores"] * 100,
                "% of a core",
                note="includes launching and recording each no-op job, and the /status load",
            ),
            Figure(
                "schedules_cpu_ms_per_run",
                "daemon CPU per scheduled run (fire, launch, record)",
                firing["cpu_ms_per_run"],
                "ms",
                note="measured before the /status load; one core fires ~1,000/this runs/s",
            ),
            Figure("status_schedules_rps", "/status req/s while firing", status["rps"], "req/s"),
            Figure(
                "status_schedules_p99_ms",
                "/status p99 while firing",
                status.get("p99_ms"),
                "ms",
                note=f"wrk -t2 -c20 --latency; p50 {status.get('p50_ms', float('nan')):.1f} ms; "
                f"{status['non_2xx']:.0f} non-2xx, {status['socket_errors']:.0f} socket errors",
            ),
        ]
    return figures


if __name__ == "__main__":
    raise SystemExit(main())
