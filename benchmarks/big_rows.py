"""Big rows: ingest of a 200,000-row job stored beside a multi-MB result or log line (issue 19).

A job that stored one 3 MB result once made the next big job crawl (~1,000 results/s instead of
~60,000) when the new job's id sorted just before the big one's: each insert into an
index-organised table compared its key with the 3 MB row. This script shows whether that can
happen again. Each group runs in a fresh daemon with one job slot
(`SWEATPANTS_MAX_RUNNING_JOBS=1`):

1. a job that stores one big result (1, 5 and 20 MiB of JSON) or logs one 5 MiB line;
2. a job storing N = 200,000 ~100-byte results (or log lines) whose id sorts just after it;
3. the same with an id that sorts just before it.

Job ids are random UUIDs, so the script picks them through the real daemon: a job that holds
the only slot keeps new jobs pending while the script submits candidates, keeps those whose ids
sort where the case needs them (no other job that stores rows in between) and stops the rest (a
job stopped while pending stores nothing). The queue runs in submission order. Afterwards the
job list (jobs with rows) confirms each ingest job's neighbour is the big one.

Rate = rows stored / (completed_at - started_at), the daemon's clock. A job still running after
--case-timeout seconds is measured then (rows stored so far / time since started_at) and stopped.
Each case is held to a floor of 50,000 rows/s: PASS or FAIL, and the exit status is 1 if any
case fails (unlike the other scripts, this one is a regression check).

    .venv/bin/python benchmarks/big_rows.py [--quick] [--count N] [--case-timeout S]
"""

from __future__ import annotations

import argparse
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from common import (
    Daemon,
    Figure,
    JobsStuck,
    arguments,
    bench_daemon,
    cpu_seconds,
    describe_source,
    fmt_number,
    loadavg,
    parse_ts,
    wait_final,
    write_json,
    write_module,
)

FLOOR = 50_000  # rows/s, the results and log ingest target of issue 2
MIB = 1024 * 1024
MAX_CANDIDATES = 200  # job submissions per pick; each one lands where we want with p >= 1/8
MIN_GAP = 1 / 8  # of the id space, free of other jobs' rows on each side of the big job
FINAL = ("completed", "failed", "stopped")
POLL = 0.1  # seconds between looks at a job
START_WAIT = 600.0  # seconds an ingest job may wait in the queue
STOP_WAIT = 120.0  # seconds a stopped job (or the big job) may take to end

# `count` is the size in characters of the one big result or log line.
BIG_RESULT_MODULE = """
from sweatpants import Module


class BigResult(Module):
    async def run(self, inputs, settings):
        yield {"blob": "b" * int(inputs["count"])}
"""

BIG_LOG_MODULE = """
from sweatpants import Module


class BigLog(Module):
    async def run(self, inputs, settings):
        await self.log("l" * int(inputs["count"]))
        yield {"logged": int(inputs["count"])}
"""

# Holds the only job slot (so the jobs submitted meanwhile stay pending); stores no result.
HOLD_MODULE = """
import asyncio

from sweatpants import Module


class Hold(Module):
    async def run(self, inputs, settings):
        for _ in range(int(inputs["seconds"] * 20)):
            if self.is_cancelled:
                break
            await asyncio.sleep(0.05)
        return
        yield  # an async generator that yields nothing
"""

EXTRA_MODULES = {
    "bench-big-result": BIG_RESULT_MODULE,
    "bench-big-log": BIG_LOG_MODULE,
    "bench-hold": HOLD_MODULE,
}


@dataclass
class Group:
    kind: str  # "results" or "logs"
    big_bytes: int

    @property
    def big_module(self) -> str:
        return "bench-big-result" if self.kind == "results" else "bench-big-log"

    @property
    def ingest_module(self) -> str:
        return "bench-flood" if self.kind == "results" else "bench-chatter"

    @property
    def count_field(self) -> str:
        return "result_count" if self.kind == "results" else "log_count"

    @property
    def name(self) -> str:
        what = "result" if self.kind == "results" else "log line"
        return f"{self.kind} beside a {self.big_bytes // MIB} MiB {what}"


@dataclass
class Case:
    group: Group
    side: str  # "after" or "before": where the ingest job's id sorts relative to the big job's
    count: int
    rate: float | None = None
    stored: int = 0
    seconds: float = 0.0
    finished: bool = False
    cpu_us: float | None = None  # daemon CPU time per row stored
    neighbour_ok: bool | None = None
    note: str = ""
    error: str = ""

    def verdict(self, floor: float) -> str:
        return "PASS" if self.rate is not None and self.rate >= floor else "FAIL"

    @property
    def label(self) -> str:
        return f"{self.group.name}, id sorts {self.side} it"


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="rows per ingest job (200,000)")
    parser.add_argument(
        "--case-timeout",
        type=float,
        help="seconds an ingest job may run before it is measured and stopped (60)",
    )
    parser.add_argument(
        "--floor", type=float, default=FLOOR, help=f"rows/s each case must reach ({FLOOR:,})"
    )


def position(job_id: str) -> float:
    """Where a UUID sorts in the id space, 0 to 1 (ids are lower-case hex, so text order
    is numeric order)."""
    return uuid.UUID(job_id).int / 2**128


def bounds(occupied: list[str], big: str) -> tuple[float, float]:
    """The stretch of id space around `big` that holds no other occupied id."""
    here = position(big)
    below = [position(i) for i in occupied if i != big and position(i) < here]
    above = [position(i) for i in occupied if i != big and position(i) > here]
    return max(below, default=0.0), min(above, default=1.0)


def pick(
    daemon: Daemon, module_id: str, inputs: dict[str, Any], fits: Callable[[str], bool]
) -> str:
    """Submit pending jobs until one's id `fits`; stop the others (they store nothing)."""
    rejected: list[str] = []
    try:
        for _ in range(MAX_CANDIDATES):
            job_id = daemon.start_job(module_id, **inputs)
            if fits(job_id):
                return job_id
            rejected.append(job_id)
        raise SystemExit(f"no {module_id} job id fitted after {MAX_CANDIDATES} submissions")
    finally:
        for job_id in rejected:
            daemon.client().post(f"/jobs/{job_id}/stop")


def wait_status(daemon: Daemon, job_id: str, wanted: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        job = daemon.job(job_id)
        if job["status"] == wanted:
            return job
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    raise SystemExit(f"job {job_id} not {wanted} after {timeout}s (it is {job['status']})")


def measure(daemon: Daemon, case: Case, job_id: str, timeout: float) -> None:
    """Wait for the ingest job to start (the jobs before it must end first) and to end; one
    still running `timeout` s after it started is measured then, and stopped. The daemon's
    CPU time is read from the first poll that sees the job running to the one that sees it
    end (0.1 s apart), so it may include a sliver of the job before."""
    field = case.group.count_field
    start_by = time.monotonic() + START_WAIT
    cpu_start: float | None = None
    job: dict[str, Any] = {}
    for _ in range(int((START_WAIT + timeout) / POLL) + 10):
        job = daemon.job(job_id)
        if job["status"] in FINAL:
            break
        if job.get("started_at"):
            if cpu_start is None:
                cpu_start = cpu_seconds(daemon.pid)
            running = time.time() - parse_ts(job["started_at"])
            if running > timeout:
                case.stored, case.seconds = int(job[field]), running
                case.rate = case.stored / running
                case.cpu_us = (cpu_seconds(daemon.pid) - cpu_start) * 1e6 / max(case.stored, 1)
                stop_slow_job(daemon, case, job_id)
                return
        elif time.monotonic() > start_by:
            raise SystemExit(f"job {job_id} did not start within {START_WAIT}s")
        time.sleep(POLL)
    if job.get("status") != "completed":
        raise SystemExit(f"the ingest job ended {job.get('status')}: {job.get('error')}")
    case.finished = True
    case.stored = int(job[field])
    if case.stored < case.count:
        raise SystemExit(f"{field} {case.stored:,} < {case.count:,}")
    case.seconds = parse_ts(job["completed_at"]) - parse_ts(job["started_at"])
    case.rate = case.count / max(case.seconds, 1e-3)
    if cpu_start is not None:
        case.cpu_us = (cpu_seconds(daemon.pid) - cpu_start) * 1e6 / case.count


def stop_slow_job(daemon: Daemon, case: Case, job_id: str) -> None:
    """Stop a job that ran out of time. The request waits for the writer, which may be deep in
    a slow batch, and the job may go on storing what it had sent: both bounded."""
    with contextlib.suppress(httpx.TimeoutException):
        daemon.client().post(f"/jobs/{job_id}/stop", timeout=STOP_WAIT)
    try:
        wait_final(daemon, [job_id], STOP_WAIT)
    except JobsStuck:
        case.note = f"still storing {STOP_WAIT:.0f} s after the stop request"


def jobs_with_rows(daemon: Daemon, field: str) -> list[str]:
    """Ids of every job that stored rows of this kind, in id (= key) order."""
    page = daemon.get("/jobs", limit=1000)
    return sorted(job["id"] for job in page["jobs"] if job[field] > 0)


def install_modules(daemon: Daemon) -> None:
    for module_id, code in EXTRA_MODULES.items():
        write_module(daemon.data_dir / "modules", module_id, code)
    response = daemon.client().post("/modules/reload")
    if response.status_code != 200:
        raise SystemExit(f"POST /modules/reload answered {response.status_code}: {response.text}")
    installed = {module["id"] for module in daemon.get("/modules")["modules"]}
    missing = set(EXTRA_MODULES) - installed
    if missing:
        raise SystemExit(f"modules not installed after reload: {sorted(missing)}")


def run_group(group: Group, count: int, timeout: float) -> list[Case]:
    cases = [Case(group, "after", count), Case(group, "before", count)]
    with bench_daemon({"SWEATPANTS_MAX_RUNNING_JOBS": "1"}) as daemon:
        install_modules(daemon)
        hold = daemon.start_job("bench-hold", seconds=600)
        wait_status(daemon, hold, "running", 60)
        occupied = [hold]  # the holder logs a line when stopped

        def roomy(job_id: str) -> bool:
            low, high = bounds([*occupied, job_id], job_id)
            here = position(job_id)
            return here - low >= MIN_GAP and high - here >= MIN_GAP

        big = pick(daemon, group.big_module, {"count": group.big_bytes}, roomy)
        occupied.append(big)
        low, high = bounds(occupied, big)
        after = pick(
            daemon,
            group.ingest_module,
            {"count": count},
            lambda i: position(big) < position(i) < high,
        )
        before = pick(
            daemon,
            group.ingest_module,
            {"count": count},
            lambda i: low < position(i) < position(big),
        )
        daemon.client().post(f"/jobs/{hold}/stop")
        (big_job,) = wait_final(daemon, [big], STOP_WAIT)
        if big_job["status"] != "completed":
            raise SystemExit(f"the big job ended {big_job['status']}: {big_job.get('error')}")
        for case, job_id in zip(cases, (after, before), strict=True):
            try:
                measure(daemon, case, job_id, timeout)
            except (Exception, SystemExit) as exc:
                case.error = f"{type(exc).__name__}: {exc}"[:300]
        ordered = jobs_with_rows(daemon, group.count_field)
        for case, job_id in zip(cases, (after, before), strict=True):
            if job_id in ordered and big in ordered:
                step = 1 if case.side == "after" else -1
                case.neighbour_ok = ordered.index(job_id) == ordered.index(big) + step
    return cases


def print_cases(cases: list[Case], floor: float) -> None:
    head = ("case", "rows/s", "stored", "seconds", "CPU-us/row", "floor", "")
    rows = [head]
    for case in cases:
        notes = [] if case.finished else ["measured, then stopped"]
        notes += [case.note] if case.note else []
        if not case.neighbour_ok:
            notes.append("its neighbour is not the big job, or unknown")
        notes += [f"! {case.error}"] if case.error else []
        rows.append(
            (
                case.label,
                fmt_number(case.rate),
                f"{case.stored:,}",
                f"{case.seconds:.1f}",
                fmt_number(case.cpu_us),
                f">= {floor:,.0f}",
                case.verdict(floor) + (f" ({'; '.join(notes)})" if notes else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head) - 1)]
    print(f"\n== big rows   (load average {loadavg()}; daemon: {describe_source()})")
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        print("  " + "  ".join(cells) + "  " + row[-1])
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))
    print(
        "  · rows/s: rows stored / (completed_at - started_at); CPU-us/row: the daemon's CPU "
        "time per row stored (all threads), which hardly moves with the machine's load"
    )


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (20_000 if args.quick else 200_000)
    timeout = args.case_timeout or (20.0 if args.quick else 60.0)
    groups = [Group("results", mib * MIB) for mib in (1, 5, 20)] + [Group("logs", 5 * MIB)]
    cases: list[Case] = []
    for group in groups:
        began = time.monotonic()
        try:
            cases += run_group(group, count, timeout)
        except (Exception, SystemExit) as exc:
            failed = [
                Case(group, side, count, error=f"{type(exc).__name__}: {exc}"[:300])
                for side in ("after", "before")
            ]
            cases += failed
        print(f"  {group.name}: done in {time.monotonic() - began:.0f} s", flush=True)
    print_cases(cases, args.floor)
    figures = []
    for case in cases:
        key = f"big_rows_{case.group.kind}_{case.group.big_bytes // MIB}mib_{case.side}"
        figures.append(Figure(key, case.label, case.rate, "rows/s", note=case.verdict(args.floor)))
        figures.append(Figure(f"{key}_cpu_us", f"{case.label}: daemon CPU", case.cpu_us, "us"))
    write_json(args.json, "big_rows", figures, None, [c.error for c in cases if c.error])
    failed = [c for c in cases if c.verdict(args.floor) == "FAIL"]
    print(
        f"\n  {len(cases) - len(failed)} cases PASS, {len(failed)} FAIL "
        f"(floor {args.floor:,.0f} rows/s)"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
