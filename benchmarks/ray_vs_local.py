"""Ray executor vs local: results/s streamed back, and `POST /jobs` → first log line.

Starts a real Ray cluster (a head without CPUs and one 1-CPU worker) in a network namespace
with only loopback, and one daemon in it whose default executor is `ray`; the local figures
come from the same daemon with `"executor": "local"` on the job. Figures:

- results/s: a module yielding N small results with no logs; N / (completed_at - started_at)
  of the job row (engine side: every result committed to SQLite), and N / client time from
  `POST /jobs` to `completed` (includes placing the job and starting its runner).
- first log: client time from `POST /jobs` to the module's first log line being readable
  through the API (polled every 5 ms), and the engine figure (the log line's timestamp in the
  runner minus the job's `created_at`). The first Ray job of a module also uploads the module
  and builds its runtime_env (cold); the later ones reuse them (warm).

    sudo .venv/bin/python benchmarks/ray_vs_local.py [--results N] [--starts K]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.daemon import RunningDaemon  # noqa: E402
from tests.support.modules import write_module  # noqa: E402
from tests.support.ray_cluster import NetnsDaemon, RayCluster  # noqa: E402

FLOOD = """
from sweatpants import Module

class Flood(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["n"]):
            yield {"i": i, "text": "result"}
"""
HELLO = """
from sweatpants import Module

class Hello(Module):
    async def run(self, inputs, settings):
        await self.log("first-line")
        yield {"ok": True}
"""
N_INPUT = [{"id": "n", "type": "integer", "default": 1000}]


def parse_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def wait_final(daemon: RunningDaemon, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict = daemon.job(job_id)
        if job["status"] in ("completed", "failed", "stopped"):
            if job["status"] != "completed":
                raise SystemExit(f"job {job_id} ended {job['status']}: {job['error']}")
            return job
        time.sleep(0.01)
    raise SystemExit(f"job {job_id} did not end within {timeout}s")


def results_rate(daemon: RunningDaemon, executor: str, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    job_id = daemon.start_job("flood", inputs={"n": n}, executor=executor)
    job = wait_final(daemon, job_id)
    client = time.perf_counter() - t0
    assert job["result_count"] == n, job
    engine = parse_ts(job["completed_at"]) - parse_ts(job["started_at"])
    return n / engine, n / client


def first_log(daemon: RunningDaemon, executor: str) -> tuple[float, float]:
    """(client ms, engine ms) from POST /jobs to the first log line."""
    client = daemon.client()
    t0 = time.perf_counter()
    job_id = daemon.start_job("hello", executor=executor)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        logs = client.get(f"/jobs/{job_id}/logs", params={"limit": 5}).json()["logs"]
        line = next((e for e in logs if e["message"] == "first-line"), None)
        if line is not None:
            elapsed = (time.perf_counter() - t0) * 1000
            job = daemon.job(job_id)
            engine = (parse_ts(line["timestamp"]) - parse_ts(job["created_at"])) * 1000
            wait_final(daemon, job_id)
            return elapsed, engine
        time.sleep(0.005)
    raise SystemExit(f"job {job_id}: no first log line within 300s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=50_000, help="results per job")
    parser.add_argument("--starts", type=int, default=6, help="jobs timed for first log")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sp-bench-ray-"))
    cluster = RayCluster(root)
    try:
        t0 = time.perf_counter()
        cluster.create_namespace()
        cluster.start_head()
        cluster.add_workers(["worker"])
        print(f"cluster up in {time.perf_counter() - t0:.1f}s (head 0 CPU + worker 1 CPU)")
        with cluster.entered():
            daemon = NetnsDaemon(cluster, root / "data")
            daemon.start()
            try:
                write_module(daemon.modules_dir, "flood", FLOOD, inputs=N_INPUT)
                write_module(daemon.modules_dir, "hello", HELLO)
                rows = []
                for executor in ("local", "ray"):
                    results_rate(daemon, executor, 1000)  # warm-up (ray: module upload)
                    engine_rate, client_rate = results_rate(daemon, executor, args.results)
                    starts = [first_log(daemon, executor) for _ in range(args.starts)]
                    cold, warm = starts[0], starts[1:]
                    rows.append(
                        (
                            executor,
                            engine_rate,
                            client_rate,
                            cold[0],
                            statistics.median(s[0] for s in warm),
                            statistics.median(s[1] for s in warm),
                        )
                    )
            finally:
                daemon.stop()
    finally:
        cluster.stop()
    print(f"\n{args.results} results per job; first log: 1 cold + {args.starts - 1} warm jobs")
    header = (
        "executor",
        "results/s (engine)",
        "results/s (client)",
        "first log cold ms",
        "first log warm ms (client, median)",
        "(engine, median)",
    )
    print(" | ".join(header))
    for name, engine_rate, client_rate, cold_ms, warm_ms, warm_engine_ms in rows:
        print(
            f"{name:8} | {engine_rate:18,.0f} | {client_rate:18,.0f} | {cold_ms:17,.0f} | "
            f"{warm_ms:34,.0f} | {warm_engine_ms:16,.0f}"
        )


if __name__ == "__main__":
    main()
