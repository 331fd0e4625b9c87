"""GET /metrics on a real daemon: the Prometheus text parses with prometheus_client's own
parser, its counters match what the API reports after a job, and it takes the API's token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from sweatpants.metrics import Metrics, Snapshot
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

TOKEN = "metrics-test-token"

COUNTER = """
from sweatpants import Module

class Counter(Module):
    async def run(self, inputs, settings):
        for i in range(inputs["n"]):
            if i % 10 == 0:
                await self.log(f"at {i}")
                await self.progress(i, inputs["n"])
            yield {"i": i}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = RunningDaemon(tmp_path_factory.mktemp("metrics") / "data", token=TOKEN)
    write_module(running.modules_dir, "counter", COUNTER, inputs=[{"id": "n", "type": "integer"}])
    running.start()
    yield running
    running.stop()


def scrape(daemon: RunningDaemon) -> dict[str, Metric]:
    answer = daemon.client().get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(answer.text)}


def value(families: dict[str, Metric], name: str, sample: str, **labels: str) -> float:
    for found in families[name].samples:
        if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
            return float(found.value)
    raise AssertionError(f"no sample {sample} {labels} in {families[name].samples}")


@pytest.mark.live
def test_counters_match_what_the_api_reports(daemon: RunningDaemon) -> None:
    before = scrape(daemon)
    results_before = value(
        before, "sweatpants_results_ingested", "sweatpants_results_ingested_total"
    )
    logs_before = value(
        before, "sweatpants_log_lines_ingested", "sweatpants_log_lines_ingested_total"
    )
    job_id = daemon.start_job("counter", inputs={"n": 2500})
    job = daemon.wait_job(job_id, timeout=90)
    assert job["status"] == "completed", job
    families = scrape(daemon)
    results = value(families, "sweatpants_results_ingested", "sweatpants_results_ingested_total")
    logs = value(families, "sweatpants_log_lines_ingested", "sweatpants_log_lines_ingested_total")
    assert results - results_before == job["result_count"] == 2500
    assert logs - logs_before == job["log_count"] == 250

    counts = daemon.client().get("/status").json()["counts"]
    jobs = value(
        families, "sweatpants_jobs", "sweatpants_jobs", status="completed", module="counter"
    )
    assert jobs == 1
    by_status: dict[str, float] = {}
    for found in families["sweatpants_jobs"].samples:
        by_status[found.labels["status"]] = by_status.get(found.labels["status"], 0) + found.value
    assert {k: v for k, v in counts.items() if v} == {k: int(v) for k, v in by_status.items() if v}

    ran = value(
        families,
        "sweatpants_job_duration_seconds",
        "sweatpants_job_duration_seconds_count",
        status="completed",
    )
    assert ran >= 1
    assert (
        value(families, "sweatpants_job_start_seconds", "sweatpants_job_start_seconds_count") >= 1
    )
    batches = value(families, "sweatpants_writer_batch_size", "sweatpants_writer_batch_size_count")
    operations = value(families, "sweatpants_writer_batch_size", "sweatpants_writer_batch_size_sum")
    assert batches >= 1 and operations >= batches
    commits = value(
        families, "sweatpants_writer_commit_seconds", "sweatpants_writer_commit_seconds_count"
    )
    assert commits == batches
    assert value(families, "sweatpants_queue_depth", "sweatpants_queue_depth") == 0
    assert value(families, "sweatpants_browser_leases", "sweatpants_browser_leases_total") == 0
    assert value(families, "sweatpants_browser_crashes", "sweatpants_browser_crashes_total") == 0


@pytest.mark.live
def test_metrics_need_the_token(daemon: RunningDaemon) -> None:
    with httpx.Client(base_url=daemon.url, timeout=10) as bare:
        assert bare.get("/metrics").status_code == 401
        wrong = bare.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401


def test_each_engine_counts_on_its_own_registry() -> None:
    """No global state: two Metrics never share a count (tests run many engines at once)."""
    first, second = Metrics(), Metrics()
    first.ingested(5, 2)
    first.batch_committed(3, 0.001)
    empty = Snapshot(job_counts=[("m", "failed", 2)], queue_depth=4, browser={"crashes": 1})
    one = {f.name: f for f in text_string_to_metric_families(first.render(empty).decode())}
    two = {f.name: f for f in text_string_to_metric_families(second.render(empty).decode())}
    assert value(one, "sweatpants_results_ingested", "sweatpants_results_ingested_total") == 5
    assert value(two, "sweatpants_results_ingested", "sweatpants_results_ingested_total") == 0
    assert value(one, "sweatpants_jobs", "sweatpants_jobs", status="failed", module="m") == 2
    assert value(one, "sweatpants_queue_depth", "sweatpants_queue_depth") == 4
    assert value(one, "sweatpants_browser_crashes", "sweatpants_browser_crashes_total") == 1
