"""A daemon that goes down mid-job resumes the job from its checkpoint, results exactly once."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module

pytestmark = pytest.mark.live

SLOW_INPUTS = samples.CHECKPOINTING_INPUTS


def start_slow_job(daemon: RunningDaemon) -> str:
    write_module(daemon.modules_dir, "slow", samples.CHECKPOINTING, inputs=SLOW_INPUTS)
    return daemon.start_job("slow", inputs={"n": 60, "every": 10, "delay": 0.05})


def past_a_checkpoint(daemon: RunningDaemon, job_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        job = daemon.job(job_id)
        checkpoint = job["checkpoint"] or {}
        beyond = job["result_count"] > checkpoint.get("next", 0) >= 20
        return job if beyond else None

    job: dict[str, Any] = wait_for(check, 20, what="a checkpoint with results after it")
    return job


def test_kill_9_then_restart_resumes_from_the_checkpoint_exactly_once(
    daemon: RunningDaemon,
) -> None:
    job_id = start_slow_job(daemon)
    job = past_a_checkpoint(daemon, job_id)
    child = job["pid"]
    daemon.kill()
    wait_for(lambda: not alive(child), 10, what="the orphaned job process to exit")
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "completed", job
    assert job["resumes"] == 1
    assert [r["i"] for r in daemon.results(job_id)] == list(range(60))
    assert job["result_count"] == 60
    messages = [e["message"] for e in daemon.logs(job_id)]
    assert messages[0] == "starting at 0"
    assert any("resuming from its last checkpoint" in m for m in messages)
    assert any(m.startswith("starting at ") and m != "starting at 0" for m in messages)


def test_clean_shutdown_keeps_the_job_for_the_next_start(daemon: RunningDaemon) -> None:
    job_id = start_slow_job(daemon)
    past_a_checkpoint(daemon, job_id)
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why.
    assert daemon.stop() in (0, -15)
    assert "Application shutdown complete" in daemon.log()
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "completed" and job["resumes"] == 1
    assert [r["i"] for r in daemon.results(job_id)] == list(range(60))


def test_max_duration_still_holds_after_a_restart(daemon: RunningDaemon) -> None:
    write_module(daemon.modules_dir, "polite", samples.POLITE)
    job_id = daemon.start_job("polite", max_duration="3s")
    job = daemon.wait_job(job_id, statuses=["running"])
    deadline = datetime.fromisoformat(job["deadline_at"].replace("Z", "+00:00")).timestamp()
    daemon.kill()
    wait_for(lambda: time.time() > deadline + 0.5, 10, what="the deadline to pass while down")
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=10)
    assert job["status"] == "stopped" and "max_duration" in job["error"]
