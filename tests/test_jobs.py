"""Jobs through a real daemon: inputs, states, ids, crashes, stops."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import pytest

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module

pytestmark = pytest.mark.live

N_INPUT = [
    {"id": "n", "type": "integer", "required": True},
    {"id": "pad", "type": "integer", "default": 0},
]


def install(
    daemon: RunningDaemon, module_id: str, code: str, inputs: list[dict[str, Any]] | None = None
) -> None:
    write_module(daemon.modules_dir, module_id, code, inputs=inputs)


def test_job_runs_to_completion_with_every_result_and_log(daemon: RunningDaemon) -> None:
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    job_id = daemon.start_job("counter", inputs={"n": "250"})
    job = daemon.wait_job(job_id)
    assert job["status"] == "completed", job
    assert job["inputs"] == {"n": 250, "pad": 0}
    assert [r["i"] for r in daemon.results(job_id)] == list(range(250))
    messages = [entry["message"] for entry in daemon.logs(job_id)]
    assert messages == [f"item {i}" for i in range(250)]
    assert job["result_count"] == 250 and job["progress"] == {"done": 250, "total": 250}
    assert job["started_at"] and job["completed_at"] and job["exit_code"] == 0


def test_bad_inputs_name_the_field_and_store_nothing(daemon: RunningDaemon) -> None:
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    client = daemon.client()
    cases = [
        ({"module_id": "counter", "inputs": {"n": "many"}}, "inputs.n"),
        ({"module_id": "counter", "inputs": {}}, "inputs.n"),
        ({"module_id": "counter", "inputs": {"n": 1}, "max_duration": "soon"}, "max_duration"),
        ({"inputs": {"n": 1}}, "module_id"),
        ({"module_id": "counter", "inputs": "n=1"}, "inputs"),
    ]
    for body, field in cases:
        response = client.post("/jobs", json=body)
        assert response.status_code == 422, response.text
        error = response.json()
        assert error["field"] == field and error["error"] == "invalid_input"
        assert field.split(".")[-1] in error["detail"]
    response = client.post(
        "/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.json()["detail"]
    assert client.get("/jobs").json()["jobs"] == []


def test_unknown_ids_answer_404_and_prefixes_resolve(daemon: RunningDaemon) -> None:
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    client = daemon.client()
    assert client.post("/jobs", json={"module_id": "nope"}).status_code == 404
    for path in ("/jobs/zzzzzzzz", "/jobs/zzzzzzzz/logs", "/jobs/zzzzzzzz/results"):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert client.post("/jobs/zzzzzzzz/stop").status_code == 404
    job_id = daemon.start_job("counter", inputs={"n": 1})
    daemon.wait_job(job_id)
    assert client.get(f"/jobs/{job_id[:8]}").json()["id"] == job_id
    assert client.get(f"/jobs/{job_id[:7]}").status_code == 404  # too short to be a prefix
    assert client.get("/jobs/%25%25%25%25%25%25%25%25").status_code == 404
    assert client.get("/jobs/________").status_code == 404


def test_ambiguous_prefix_lists_the_matches(daemon: RunningDaemon) -> None:
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    ids = [daemon.start_job("counter", inputs={"n": 1}) for _ in range(2)]
    for job_id in ids:
        daemon.wait_job(job_id)
    assert daemon.client().get(f"/jobs/{ids[0][:7]}").status_code == 404  # < 8: never a prefix
    # Random ids rarely share 8 characters: give the two stored jobs ids that do.
    conn = sqlite3.connect(daemon.data_dir / "sweatpants.db")
    for n, job_id in enumerate(ids, start=1):
        conn.execute("UPDATE jobs SET id = ? WHERE id = ?", (f"aaaaaaaa-{n}{job_id[10:]}", job_id))
    conn.commit()
    conn.close()
    response = daemon.client().get("/jobs/aaaaaaaa")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "ambiguous_id" and len(body["matches"]) == 2
    assert all(match.startswith("aaaaaaaa-") for match in body["matches"])


def test_exception_fails_the_job_with_error_and_traceback(daemon: RunningDaemon) -> None:
    install(daemon, "broken", samples.RAISES)
    job = daemon.wait_job(daemon.start_job("broken"))
    assert job["status"] == "failed"
    assert job["error"] == "ValueError: the widget is missing"
    assert "Traceback" in job["traceback"] and "the widget is missing" in job["traceback"]
    assert daemon.results(job["id"]) == [{"before": True}]


@pytest.mark.parametrize(
    ("module_id", "code", "expected"),
    [
        ("segfault", samples.SEGFAULT, "killed by SIGSEGV"),
        ("quitter", samples.EXIT_THREE, "exited with code 3"),
    ],
)
def test_crashing_process_fails_the_job_and_spares_the_daemon(
    daemon: RunningDaemon, module_id: str, code: str, expected: str
) -> None:
    install(daemon, module_id, code)
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    job = daemon.wait_job(daemon.start_job(module_id))
    assert job["status"] == "failed" and expected in job["error"], job
    assert daemon.results(job["id"]) == [{"before": True}]
    other = daemon.wait_job(daemon.start_job("counter", inputs={"n": 5}))
    assert other["status"] == "completed"


def test_print_and_logging_become_job_logs(daemon: RunningDaemon) -> None:
    install(daemon, "chatty", samples.PRINTS)
    job = daemon.wait_job(daemon.start_job("chatty"))
    assert job["status"] == "completed"
    entries = {(e["level"], e["message"]) for e in daemon.logs(job["id"])}
    assert ("INFO", "hello from print") in entries
    assert ("WARNING", "chatty: hello from logging") in entries


def test_stubborn_module_is_stopped_within_the_grace(daemon: RunningDaemon) -> None:
    install(daemon, "stubborn", samples.STUBBORN)
    install(daemon, "polite", samples.POLITE)
    stubborn = daemon.start_job("stubborn")
    polite = daemon.start_job("polite")
    job = daemon.wait_job(stubborn, statuses=["running"])
    pid = job["pid"]
    wait_for(lambda: daemon.logs(stubborn), 10, what="the module's first log")
    client = daemon.client()
    asked = time.monotonic()
    assert client.post(f"/jobs/{stubborn[:8]}/stop").json() == {
        "id": stubborn,
        "status": "stopping",
    }
    # Meanwhile the daemon answers and the other job keeps producing.
    before = daemon.job(polite)["result_count"]
    for _ in range(5):
        assert client.get("/status", timeout=2).status_code == 200
    job = daemon.wait_job(stubborn, timeout=20)
    waited = time.monotonic() - asked
    assert job["status"] == "stopped" and job["error"] is None
    assert waited < 2 + 3 + 5  # grace (2 s in tests) + SIGTERM wait + slack
    assert not alive(pid)
    wait_for(lambda: daemon.job(polite)["result_count"] > before, 10, what="the other job to go on")
    assert daemon.job(polite)["status"] == "running"
    messages = " ".join(e["message"] for e in daemon.logs(stubborn))
    assert "terminating" in messages and "killing" in messages


def test_cooperative_stop_and_stopping_twice(daemon: RunningDaemon) -> None:
    install(daemon, "polite", samples.POLITE)
    job_id = daemon.start_job("polite")
    daemon.wait_job(job_id, statuses=["running"])
    client = daemon.client()
    client.post(f"/jobs/{job_id}/stop")
    job = daemon.wait_job(job_id, timeout=10)
    assert job["status"] == "stopped"
    assert any("noticed the stop" in e["message"] for e in daemon.logs(job_id))
    again = client.post(f"/jobs/{job_id}/stop")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]


def test_running_limit_queues_first_come_first_served(make_daemon) -> None:
    daemon = make_daemon(env={"SWEATPANTS_MAX_RUNNING_JOBS": "1"})
    install(daemon, "polite", samples.POLITE)
    first = daemon.start_job("polite")
    second = daemon.start_job("polite")
    third = daemon.start_job("polite")
    daemon.wait_job(first, statuses=["running"])
    assert daemon.job(second)["status"] == "pending"
    client = daemon.client()
    client.post(f"/jobs/{third}/stop")  # a pending job stops at once
    assert daemon.job(third)["status"] == "stopped"
    client.post(f"/jobs/{first}/stop")
    daemon.wait_job(second, statuses=["running"])
    client.post(f"/jobs/{second}/stop")
    assert daemon.wait_job(second)["status"] == "stopped"


def test_max_duration_stops_the_job(daemon: RunningDaemon) -> None:
    install(daemon, "polite", samples.POLITE)
    job_id = daemon.start_job("polite", max_duration="1s")
    job = daemon.wait_job(job_id, timeout=15)
    assert job["status"] == "stopped" and "max_duration" in job["error"]
    assert job["deadline_at"] is not None


def test_fifty_jobs_at_once_store_everything(daemon: RunningDaemon) -> None:
    install(daemon, "counter", samples.COUNTER, N_INPUT)
    ids = [daemon.start_job("counter", inputs={"n": 200}) for _ in range(50)]
    for job_id in ids:
        job = daemon.wait_job(job_id, timeout=120)
        assert job["status"] == "completed", (job.get("error"), daemon.log())
        assert job["result_count"] == 200 and job["log_count"] == 200
    for job_id in ids[:5]:
        assert [r["i"] for r in daemon.results(job_id)] == list(range(200))
    status = daemon.client().get("/status").json()
    assert status["counts"]["completed"] == 50 and status["jobs"] == []
