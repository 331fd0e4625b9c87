"""Start latency: from `POST /jobs` to the module's first log line, over ~30 jobs run one by one.

Two series: "spaced" (each job started 0.3 s after the previous one ended: a person starting
jobs; this is the figure held to the target) and "back-to-back" (the next job right after the
previous one ended: shows what a warm pool or fork server does when starts come in a row).
For each job the client notes the time before `POST /jobs`, opens the job's log WebSocket
(`/jobs/{id}/logs/stream`, which replays stored entries and then streams live ones) and notes
the time the module's first line ("first-line") arrives. That client figure includes the POST
round trip and the WebSocket handshake. The engine figure is the log entry's own timestamp
(taken in the job process when the module called `self.log`) minus the job's `created_at`
(taken by the daemon when it accepted the POST); `created_at → started_at` is also shown.

    .venv/bin/python benchmarks/first_log.py [--quick] [--jobs N]
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
    parse_ts,
    percentile,
    print_table,
    wait_final,
    write_json,
)
from websockets.sync.client import connect

MARKER = "first-line"
PAUSE = 0.3  # seconds between one job's end and the next POST in the "spaced" series


def one_job(
    daemon: Daemon, timeout: float = 20.0, module_id: str = "bench-hello"
) -> tuple[float, str, dict[str, object]]:
    """(client ms, job id, the first log entry)."""
    t0 = time.perf_counter()
    job_id = daemon.start_job(module_id)
    deadline = time.monotonic() + timeout
    with connect(daemon.ws_url(f"/jobs/{job_id}/logs/stream"), open_timeout=timeout) as ws:
        for _ in range(1000):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            message = json.loads(ws.recv(timeout=remaining))
            if message.get("type") == "log" and message.get("message") == MARKER:
                return (time.perf_counter() - t0) * 1000, job_id, message
            if message.get("type") in ("end", "error"):
                raise SystemExit(f"job {job_id} ended before its first line: {message}")
    raise SystemExit(f"job {job_id}: no first line within {timeout}s")


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, help="jobs to time (30)")


def summary(label: str, key: str, values: list[float], note: str = "") -> list[Figure]:
    if not values:
        return []
    return [
        Figure(key + "_p50_ms", f"{label} p50", percentile(values, 50), "ms", note=note),
        Figure(key + "_p90_ms", f"{label} p90", percentile(values, 90), "ms"),
        Figure(key + "_max_ms", f"{label} max", max(values), "ms"),
    ]


def series(
    daemon: Daemon, jobs: int, pause: float, module_id: str = "bench-hello"
) -> dict[str, list[float]]:
    """Time `jobs` jobs one after another, `pause` s apart (after the previous one ended)."""
    out: dict[str, list[float]] = {"client": [], "engine": [], "start": []}
    for _ in range(jobs):
        time.sleep(pause)
        elapsed, job_id, entry = one_job(daemon, module_id=module_id)
        (job,) = wait_final(daemon, [job_id], 30)
        created = parse_ts(job["created_at"])
        out["client"].append(elapsed)
        out["engine"].append((parse_ts(str(entry["timestamp"])) - created) * 1000)
        out["start"].append((parse_ts(job["started_at"]) - created) * 1000)
    return out


def series_figures(key: str, label: str, run: dict[str, list[float]], note: str) -> list[Figure]:
    figures = summary(f"{label}: POST → first line on the WS (client)", key, run["client"], note)
    figures += summary(
        f"{label}: created_at → line timestamp (engine)", key + "_engine", run["engine"]
    )
    figures.append(
        Figure(
            key + "_start_p50_ms",
            f"{label}: created_at → started_at p50",
            percentile(run["start"], 50),
            "ms",
        )
    )
    return figures


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    jobs = args.jobs or (8 if args.quick else 30)
    errors: list[str] = []
    figures: list[Figure] = []
    runs: dict[str, object] = {}
    with bench_daemon() as daemon:
        warm = daemon.start_job("bench-hello")
        wait_final(daemon, [warm], 60)
        spaced = attempt(errors, "spaced", lambda: series(daemon, jobs, PAUSE))
        if spaced is not None:
            runs["spaced"] = spaced
            figures += series_figures(
                "first_log",
                "spaced",
                spaced,
                f"{jobs} jobs, each started {PAUSE} s after the previous one ended; the client "
                "figure includes the POST round trip and the WebSocket handshake; engine "
                "timestamps have millisecond resolution",
            )
        burst = attempt(errors, "back-to-back", lambda: series(daemon, jobs, 0.0))
        if burst is not None:
            runs["back_to_back"] = burst
            figures += series_figures(
                "first_log_b2b",
                "back-to-back",
                burst,
                f"{jobs} jobs, each started as soon as the previous one ended",
            )
    print_table("first log line", figures, errors)
    write_json(args.json, "first_log", figures, runs, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
