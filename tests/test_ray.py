"""The `ray` executor against a real Ray cluster: a head (no CPUs) and two 1-CPU workers.

The cluster and the daemon under test run in a network namespace that has only loopback
(see tests/support/ray_cluster.py); the test process's main thread joins it to talk to the
daemon. The node test stops a worker, so it runs last.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon, alive, start_daemon, wait_for
from tests.support.modules import write_module
from tests.support.ray_cluster import NetnsDaemon, RayCluster
from tests.support.tools import require_tool
from tests.test_modules_requirements import build_wheel

pytestmark = [pytest.mark.ray, pytest.mark.live, pytest.mark.timeout(300)]

WORKERS = ("worker-a", "worker-b")
SLOW_INPUTS = samples.CHECKPOINTING_INPUTS
COUNTER_INPUTS = [{"id": "n", "type": "integer", "default": 10}]
REQUIREMENTS_CODE = """
import spdemo
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        await self.log(f"spdemo {spdemo.VERSION} from {spdemo.__file__}")
        yield {"version": spdemo.VERSION, "file": spdemo.__file__}
"""


def require_tools() -> None:
    if importlib.util.find_spec("ray") is None:
        pytest.fail(
            "the Ray tests need Ray: .venv/bin/pip install 'ray[default]>=2.9' (or sweatpants[ray])"
        )
    require_tool("ip", "iproute2")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayCluster]:
    require_tools()
    ray_cluster = RayCluster(tmp_path_factory.mktemp("ray"))
    try:
        ray_cluster.create_namespace()
        ray_cluster.start_head()
        ray_cluster.add_workers(list(WORKERS))
        with ray_cluster.entered():
            yield ray_cluster
    finally:
        ray_cluster.stop()


@pytest.fixture
def ray_daemon(cluster: RayCluster, tmp_path: Path) -> Iterator[NetnsDaemon]:
    daemon = NetnsDaemon(cluster, tmp_path / "data")
    try:
        daemon.start()
        yield daemon
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()


def node_name(job: dict[str, Any]) -> str:
    return str(job["node"]).split(" ")[0]


def past_a_checkpoint(daemon: RunningDaemon, job_id: str, at_least: int = 20) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        job = daemon.job(job_id)
        checkpoint = job["checkpoint"] or {}
        beyond = job["result_count"] > checkpoint.get("next", 0) >= at_least
        return job if beyond and job["status"] == "running" else None

    job: dict[str, Any] = wait_for(
        check, 120, interval=0.1, what="a checkpoint with results after it"
    )
    return job


def test_10000_results_stream_back_exactly_once(ray_daemon: NetnsDaemon) -> None:
    write_module(ray_daemon.modules_dir, "counter", samples.COUNTER, inputs=COUNTER_INPUTS)
    job_id = ray_daemon.start_job("counter", inputs={"n": 10_000})
    job = ray_daemon.wait_job(job_id, timeout=180)
    assert job["status"] == "completed", (job, ray_daemon.log())
    assert job["executor"] == "ray"
    assert node_name(job) in WORKERS, job["node"]
    assert job["result_count"] == 10_000 and job["progress"] == {"done": 10_000, "total": 10_000}
    assert [r["i"] for r in ray_daemon.results(job_id)] == list(range(10_000))
    messages = [e["message"] for e in ray_daemon.logs(job_id)]
    assert messages == [f"item {i}" for i in range(10_000)]

    status = ray_daemon.client().get("/status").json()
    assert status["executor"] == "ray"
    ray_status = status["ray"]
    assert ray_status["connected"] is True, ray_status
    names = {node["name"] for node in ray_status["nodes"] if node["alive"]}
    assert names == {"head", *WORKERS}
    assert ray_status["cpus"] == 2 and 0 <= ray_status["free_cpus"] <= 2

    # A job may still ask for the local executor on a daemon whose default is ray.
    local_id = ray_daemon.start_job("counter", inputs={"n": 5}, executor="local")
    local = ray_daemon.wait_job(local_id, timeout=60)
    assert local["status"] == "completed" and local["executor"] == "local"
    assert local["node"] == "local"
    bad = ray_daemon.client().post("/jobs", json={"module_id": "counter", "executor": "k8s"})
    assert bad.status_code == 422 and bad.json()["field"] == "executor"


def test_module_requirements_come_from_the_ray_runtime_env(
    ray_daemon: NetnsDaemon, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    build_wheel(wheels, "1.0")
    requirements = f"--no-index\n--find-links {wheels}\nspdemo==1.0\n"
    write_module(
        ray_daemon.modules_dir, "needs-spdemo", REQUIREMENTS_CODE, requirements=requirements
    )
    job_id = ray_daemon.start_job("needs-spdemo")
    job = ray_daemon.wait_job(job_id, timeout=240)
    assert job["status"] == "completed", (job, ray_daemon.logs(job_id), ray_daemon.log())
    [result] = ray_daemon.results(job_id)
    assert result["version"] == "1.0"
    # Imported from the virtualenv Ray built on the node, not from the daemon's side.
    assert "/runtime_resources/pip/" in result["file"], result


def test_stop_of_a_module_that_ignores_cancellation(ray_daemon: NetnsDaemon) -> None:
    write_module(ray_daemon.modules_dir, "stubborn", samples.STUBBORN)
    job_id = ray_daemon.start_job("stubborn")
    wait_for(
        lambda: any("ignoring cancellation" in e["message"] for e in ray_daemon.logs(job_id)),
        120,
        interval=0.1,
        what="the stubborn module to start",
    )
    runner_pid = ray_daemon.job(job_id)["pid"]
    assert runner_pid and alive(runner_pid)
    response = ray_daemon.client().post(f"/jobs/{job_id}/stop")
    assert response.status_code == 200 and response.json()["status"] == "stopping"
    job = ray_daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "stopped", job
    assert job["exit_code"] == -9
    messages = [e["message"] for e in ray_daemon.logs(job_id)]
    assert any("terminating it" in m for m in messages)
    assert any("ignored SIGTERM; killing it" in m for m in messages)
    wait_for(lambda: not alive(runner_pid), 10, what="the runner on the node to be gone")


def test_max_duration_stops_a_ray_job(ray_daemon: NetnsDaemon) -> None:
    write_module(ray_daemon.modules_dir, "polite", samples.POLITE)
    job_id = ray_daemon.start_job("polite", max_duration="3s")
    job = ray_daemon.wait_job(job_id, timeout=90)
    assert job["status"] == "stopped" and "max_duration" in job["error"], job
    messages = [e["message"] for e in ray_daemon.logs(job_id)]
    assert "noticed the stop, cleaning up" in messages  # cooperative: is_cancelled reached it
    assert job["result_count"] > 0, (job, messages)


def test_kill_9_of_the_daemon_then_restart_resumes_the_ray_job(ray_daemon: NetnsDaemon) -> None:
    write_module(ray_daemon.modules_dir, "slow", samples.CHECKPOINTING, inputs=SLOW_INPUTS)
    job_id = ray_daemon.start_job("slow", inputs={"n": 80, "every": 10, "delay": 0.05})
    job = past_a_checkpoint(ray_daemon, job_id)
    runner_pid = job["pid"]
    ray_daemon.kill()
    # The bridge (the Ray driver) sees the daemon go, Ray ends its actor, the runner follows.
    wait_for(lambda: not alive(runner_pid), 30, what="the orphaned runner on the node to exit")
    ray_daemon.restart()
    job = ray_daemon.wait_job(job_id, timeout=120)
    assert job["status"] == "completed", (job, ray_daemon.logs(job_id))
    assert job["resumes"] == 1 and job["executor"] == "ray"
    assert [r["i"] for r in ray_daemon.results(job_id)] == list(range(80))
    messages = [e["message"] for e in ray_daemon.logs(job_id)]
    assert messages[0] == "starting at 0"
    assert any(m.startswith("starting at ") and m != "starting at 0" for m in messages)


def test_unreachable_cluster_fails_ray_jobs_fast_and_local_jobs_run(tmp_path: Path) -> None:
    require_tools()
    daemon = start_daemon(
        tmp_path / "data",
        env={"SWEATPANTS_EXECUTOR": "ray", "SWEATPANTS_RAY_ADDRESS": "127.0.0.1:9"},
    )
    try:
        write_module(daemon.modules_dir, "counter", samples.COUNTER, inputs=COUNTER_INPUTS)
        job_id = daemon.start_job("counter", inputs={"n": 3})
        job = daemon.wait_job(job_id, timeout=60)
        assert job["status"] == "failed"
        assert "cannot reach the Ray cluster at 127.0.0.1:9" in job["error"], job
        local_id = daemon.start_job("counter", inputs={"n": 3}, executor="local")
        assert daemon.wait_job(local_id, timeout=60)["status"] == "completed"
        status = daemon.client().get("/status").json()
        assert status["executor"] == "ray" and status["ray"]["connected"] is False
        assert "127.0.0.1:9" in status["ray"]["error"]
    finally:
        daemon.stop()


def test_stopping_the_worker_node_resumes_the_job_on_the_other(
    cluster: RayCluster, ray_daemon: NetnsDaemon
) -> None:
    """Runs last: it leaves the cluster with one worker."""
    write_module(ray_daemon.modules_dir, "slow", samples.CHECKPOINTING, inputs=SLOW_INPUTS)
    job_id = ray_daemon.start_job("slow", inputs={"n": 300, "every": 10, "delay": 0.05})
    job = past_a_checkpoint(ray_daemon, job_id)
    first = node_name(job)
    assert first in WORKERS, job["node"]
    cluster.stop_node(first)
    job = ray_daemon.wait_job(job_id, timeout=120)
    assert job["status"] == "completed", (job, ray_daemon.logs(job_id))
    messages = [e["message"] for e in ray_daemon.logs(job_id)]
    assert node_name(job) in WORKERS and node_name(job) != first, (job["node"], messages)
    assert [r["i"] for r in ray_daemon.results(job_id)] == list(range(300))
    assert any("went away" in m and "resuming from its last checkpoint" in m for m in messages)
