"""Killing the fork server under a running daemon neither kills nor fails its jobs."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module

pytestmark = pytest.mark.live

SLOW_INPUTS = samples.CHECKPOINTING_INPUTS


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def running_past_a_checkpoint(daemon: RunningDaemon, job_id: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        job = daemon.job(job_id)
        checkpoint = job["checkpoint"] or {}
        beyond = job["result_count"] > checkpoint.get("next", 0) >= 20
        return job if beyond and job["status"] == "running" else None

    job: dict[str, Any] = wait_for(check, 20, what="a checkpoint with results after it")
    return job


def kill_fork_server_under(daemon: RunningDaemon, job_pid: int) -> int:
    server = parent_of(job_pid)
    assert parent_of(server) == daemon.pid, "a job's parent is the daemon's fork server"
    os.kill(server, signal.SIGKILL)
    wait_for(lambda: not alive(server), 10, what="the fork server to die")
    return server


def start_slow_job(daemon: RunningDaemon, delay: float) -> str:
    write_module(daemon.modules_dir, "slow", samples.CHECKPOINTING, inputs=SLOW_INPUTS)
    return daemon.start_job("slow", inputs={"n": 60, "every": 10, "delay": delay})


def test_jobs_outlive_a_killed_fork_server_and_the_next_job_gets_a_new_one(
    daemon: RunningDaemon,
) -> None:
    job_id = start_slow_job(daemon, delay=0.05)
    job = running_past_a_checkpoint(daemon, job_id)
    old_server = kill_fork_server_under(daemon, job["pid"])
    assert alive(job["pid"]), "the job process must outlive its fork server"
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "completed", job
    assert job["resumes"] == 0 and job["error"] is None
    assert [r["i"] for r in daemon.results(job_id)] == list(range(60))
    assert "fork server" in daemon.log() and "ended unexpectedly" in daemon.log()

    next_id = daemon.start_job("slow", inputs={"n": 30, "every": 10, "delay": 0.05})
    running = daemon.wait_job(next_id, statuses=["running"])
    new_server = parent_of(running["pid"])
    assert new_server != old_server and parent_of(new_server) == daemon.pid
    following = daemon.wait_job(next_id, timeout=30)
    assert following["status"] == "completed", following
    assert [r["i"] for r in daemon.results(next_id)] == list(range(30))


def test_a_job_lost_with_its_fork_server_resumes_from_its_checkpoint(
    daemon: RunningDaemon,
) -> None:
    job_id = start_slow_job(daemon, delay=0.05)
    job = running_past_a_checkpoint(daemon, job_id)
    kill_fork_server_under(daemon, job["pid"])
    os.kill(job["pid"], signal.SIGKILL)
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "completed", job
    assert job["resumes"] == 1
    assert [r["i"] for r in daemon.results(job_id)] == list(range(60))
    messages = [e["message"] for e in daemon.logs(job_id)]
    resumed = [m for m in messages if "resuming from its last checkpoint" in m]
    assert resumed and "fork server" in resumed[0], messages
    assert any(m.startswith("starting at ") and m != "starting at 0" for m in messages)
