"""Retries: a failed attempt goes back to `pending` as the next attempt, from its checkpoint.

Against a real daemon (one for the file) with real job processes: a module that fails on its
first two attempts and succeeds on the third; a module that always fails; a stop by the user,
which is never retried; and the 422s for bad retry values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sweatpants.jobs.retries import retry_backoff
from tests.support.daemon import RunningDaemon, start_daemon, wait_for
from tests.support.modules import write_module

FLAKY = """
from sweatpants import Module


class Flaky(Module):
    async def run(self, inputs, settings):
        done = self.get_checkpoint("done", 0)
        tries = self.get_checkpoint("tries", 0) + 1
        await self.log(f"try {tries} from {done}")
        for i in range(done, 3):
            yield {"i": i}
        await self.save_checkpoint(done=3, tries=tries)
        if tries < inputs["succeed_on"]:
            yield {"i": "lost"}  # after the checkpoint: dropped by the retry
            raise RuntimeError(f"failure number {tries}")
        yield {"i": "last"}
"""

CRASHES = """
import os

from sweatpants import Module


class Crashes(Module):
    async def run(self, inputs, settings):
        tries = self.get_checkpoint("tries", 0) + 1
        await self.save_checkpoint(tries=tries)
        if tries == 1:
            os._exit(3)  # the process dies without a word
        yield {"tries": tries}
"""

WAITS = """
import asyncio

from sweatpants import Module


class Waits(Module):
    async def run(self, inputs, settings):
        while not self.is_cancelled:
            await asyncio.sleep(0.05)
        yield {"stopped": True}
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    data: Path = tmp_path_factory.mktemp("retries") / "data"
    write_module(
        data / "modules",
        "flaky",
        FLAKY,
        inputs=[{"id": "succeed_on", "type": "integer", "required": True}],
    )
    write_module(data / "modules", "waits", WAITS)
    write_module(data / "modules", "crashes", CRASHES)
    running = start_daemon(data)
    yield running
    running.stop()


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [retry_backoff("1s", n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert retry_backoff(None, 1) == 30.0
    assert retry_backoff("45m", 3) == 3600.0
    assert retry_backoff("1s", 500) == 3600.0


@pytest.mark.live
def test_fails_twice_then_completes_on_the_third_attempt(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("flaky", inputs={"succeed_on": 3}, retries=3, retry_delay="1s")
    job = daemon.wait_job(job_id, timeout=90)
    assert job["status"] == "completed", job
    assert job["attempt"] == 3 and job["max_attempts"] == 4
    assert job["trigger"] == "manual" and job["error"] is None
    assert daemon.results(job_id) == [{"i": 0}, {"i": 1}, {"i": 2}, {"i": "last"}]
    messages = [e["message"] for e in daemon.logs(job_id)]
    began = [m for m in messages if "began" in m]
    assert began == [f"[sweatpants] attempt {n} of 4 began" for n in (1, 2, 3)]
    failed = [m for m in messages if m.startswith("[sweatpants] attempt") and "failed:" in m]
    assert len(failed) == 2 and "failure number 1" in failed[0], failed
    assert "attempt 2 starts in 1s" in failed[0] and "attempt 3 starts in 2s" in failed[1]
    assert "dropping 1 results" in failed[0]
    assert [m for m in messages if m.startswith("try ")] == [
        "try 1 from 0",
        "try 2 from 3",
        "try 3 from 3",
    ]
    listed = daemon.client().get("/jobs", params={"trigger": "manual", "limit": 1000}).json()
    assert job_id in [j["id"] for j in listed["jobs"]]


@pytest.mark.live
def test_the_last_failure_stays_failed(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("flaky", inputs={"succeed_on": 99}, retries=1, retry_delay="1s")
    job = daemon.wait_job(job_id, timeout=60)
    assert job["status"] == "failed" and job["attempt"] == 2, job
    assert "failure number 2" in job["error"]
    assert job["max_attempts"] == 2 and job["retry_delay"] == "1s"


@pytest.mark.live
def test_a_job_stopped_by_the_user_is_not_retried(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("waits", retries=2, retry_delay="1s")
    daemon.wait_job(job_id, statuses=["running"], timeout=30)
    assert daemon.client().post(f"/jobs/{job_id}/stop").status_code == 200
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "stopped" and job["attempt"] == 1, job


@pytest.mark.live
def test_a_job_waiting_for_its_retry_can_be_stopped(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("flaky", inputs={"succeed_on": 99}, retries=2, retry_delay="1h")

    def waiting() -> bool:
        job = daemon.job(job_id)
        return job["status"] == "pending" and job["retry_at"] is not None

    wait_for(waiting, 60, what="the first attempt to fail and wait for its retry")
    assert daemon.client().post(f"/jobs/{job_id}/stop").json()["status"] == "stopped"
    assert daemon.job(job_id)["status"] == "stopped"


@pytest.mark.live
@pytest.mark.parametrize(
    ("body", "field"),
    [({"retries": -1}, "retries"), ({"retries": 1, "retry_delay": "0s"}, "retry_delay")],
)
def test_bad_retry_values_are_422_naming_the_field(
    daemon: RunningDaemon, body: dict[str, object], field: str
) -> None:
    before = daemon.client().get("/jobs", params={"limit": 1000}).json()["jobs"]
    answer = daemon.client().post("/jobs", json={"module_id": "waits", **body})
    assert answer.status_code == 422 and answer.json()["field"] == field, answer.text
    assert daemon.client().get("/jobs", params={"limit": 1000}).json()["jobs"] == before


@pytest.mark.live
def test_a_crashed_process_is_retried(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("crashes", retries=1, retry_delay="1s")
    job = daemon.wait_job(job_id, timeout=60)
    assert job["status"] == "completed" and job["attempt"] == 2, job
    assert daemon.results(job_id) == [{"tries": 2}]
    messages = [e["message"] for e in daemon.logs(job_id)]
    assert any("attempt 1 of 2 failed: " in m and "exit" in m for m in messages), messages


@pytest.mark.live
def test_a_retry_waiting_across_a_restart_still_happens(daemon: RunningDaemon) -> None:
    """Last in the file: it restarts the file's daemon."""
    job_id = daemon.start_job("flaky", inputs={"succeed_on": 2}, retries=1, retry_delay="4s")

    def waiting() -> bool:
        job = daemon.job(job_id)
        return job["status"] == "pending" and job["retry_at"] is not None

    wait_for(waiting, 60, what="the first attempt to fail and wait for its retry")
    daemon.stop()
    daemon.start()
    job = daemon.wait_job(job_id, timeout=60)
    assert job["status"] == "completed" and job["attempt"] == 2, job
    assert daemon.results(job_id) == [{"i": 0}, {"i": 1}, {"i": 2}, {"i": "last"}]
