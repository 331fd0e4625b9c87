"""The daemon's metrics for `GET /metrics` (Prometheus text format, via `prometheus_client`).

One `Metrics` per engine, each with its own `CollectorRegistry` (never the library's global
default registry): tests run many engines in one process, and each counts only its own.

Two kinds of figures:
- counted as things happen, at the cost of one `inc`/`observe` per batch, never per row:
  results and log lines stored (per frame of a job's output), job start latency and duration,
  the writer's batch size and commit time (per transaction);
- read when scraped (a `Snapshot` the route takes on the event loop): jobs by status and
  module (one GROUP BY on a reader connection), the queue depth, the browser pool's leases
  and crashes (its own counters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text exposition format
PREFIX = "sweatpants"

SECONDS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


@dataclass
class Snapshot:
    """What a scrape reads from the engine, taken on its event loop."""

    job_counts: list[tuple[str, str, int]]  # (module_id, status, count) of every pair
    queue_depth: int  # jobs waiting for a run slot
    browser: dict[str, Any]  # the browser pool's `status()`: leases_served, crashes, ...


class Metrics:
    """The instruments the engine updates, and the registry `/metrics` renders."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.results = Counter(
            f"{PREFIX}_results_ingested",
            "Results stored, over all jobs, since the daemon started",
            registry=registry,
        )
        self.log_lines = Counter(
            f"{PREFIX}_log_lines_ingested",
            "Log lines stored (the job's own and the daemon's [sweatpants] lines), since the "
            "daemon started",
            registry=registry,
        )
        self.job_start = Histogram(
            f"{PREFIX}_job_start_seconds",
            "From a job taking a run slot to its process running (fork, or environment and "
            "cluster placement)",
            buckets=SECONDS_BUCKETS,
            registry=registry,
        )
        self.job_duration = Histogram(
            f"{PREFIX}_job_duration_seconds",
            "How long jobs ran, from their first start to their end, by how they ended",
            ["status"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.writer_batch = Histogram(
            f"{PREFIX}_writer_batch_size",
            "Write operations committed together in one SQLite transaction",
            buckets=BATCH_BUCKETS,
            registry=registry,
        )
        self.writer_commit = Histogram(
            f"{PREFIX}_writer_commit_seconds",
            "Time the writer spent on one transaction, from BEGIN to COMMIT",
            buckets=COMMIT_BUCKETS,
            registry=registry,
        )
        self._scraped = _Scraped()
        registry.register(self._scraped)

    def ingested(self, results: int, logs: int) -> None:
        """A frame of a job's output was taken in (counted per frame, never per row)."""
        if results:
            self.results.inc(results)
        if logs:
            self.log_lines.inc(logs)

    def batch_committed(self, size: int, seconds: float) -> None:
        """The writer committed one transaction of `size` operations (its `BatchObserver`)."""
        self.writer_batch.observe(size)
        self.writer_commit.observe(seconds)

    def render(self, snapshot: Snapshot) -> bytes:
        """The text exposition of every metric, with `snapshot` for the scrape-time ones.
        Synchronous and cheap (a few dozen series): two scrapes never interleave."""
        self._scraped.snapshot = snapshot
        try:
            return generate_latest(self.registry)
        finally:
            self._scraped.snapshot = None


class _Scraped(Collector):
    """Jobs by status and module, the queue and the browser pool, read when scraped."""

    def __init__(self) -> None:
        self.snapshot: Snapshot | None = None

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration (and no read of the database then)

    def collect(self) -> Iterator[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        jobs = GaugeMetricFamily(
            f"{PREFIX}_jobs", "Jobs stored, by status and module", labels=["status", "module"]
        )
        for module_id, status, count in snapshot.job_counts:
            jobs.add_metric([status, module_id], count)
        yield jobs
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_depth",
            "Jobs waiting for a run slot",
            value=snapshot.queue_depth,
        )
        browser = snapshot.browser
        yield CounterMetricFamily(
            f"{PREFIX}_browser_leases",
            "Browser contexts leased to jobs since the daemon started",
            value=int(browser.get("leases_served", 0) or 0),
        )
        yield CounterMetricFamily(
            f"{PREFIX}_browser_crashes",
            "Pooled browsers that died and were replaced since the daemon started",
            value=int(browser.get("crashes", 0) or 0),
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_browser_leases_in_use",
            "Browser contexts leased right now",
            value=int(browser.get("contexts_in_use", 0) or 0),
        )
