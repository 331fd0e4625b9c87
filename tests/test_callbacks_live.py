"""The callbacks inbox on a real daemon, driven the way the earlier engine's clients drive it,
and a job that waits for a callback (`Module.wait_for_callback`), across a restart too."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module

pytestmark = pytest.mark.live

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ITEM_KEYS = {"id", "callback_id", "source", "status", "payload", "received_at"}

WAITER = """
from sweatpants import Module

class Waiter(Module):
    async def run(self, inputs, settings):
        await self.log("waiting for " + inputs["callback_id"])
        payload = await self.wait_for_callback(inputs["callback_id"], timeout=inputs["timeout"])
        yield {"got": payload}
"""
WAITER_INPUTS = [
    {"id": "callback_id", "type": "text", "required": True},
    {"id": "timeout", "type": "number", "default": 120},
]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    running = RunningDaemon(tmp_path_factory.mktemp("callbacks") / "data")
    write_module(running.modules_dir, "waiter", WAITER, inputs=WAITER_INPUTS)
    running.start()
    yield running
    running.stop()


def stored_count(daemon: RunningDaemon) -> int:
    with sqlite3.connect(daemon.data_dir / "sweatpants.db") as conn:
        return int(conn.execute("SELECT count(*) FROM callbacks").fetchone()[0])


def test_the_earlier_engines_client_requests_work_unchanged(daemon: RunningDaemon) -> None:
    client = daemon.client()
    # An agent reporting back, with every field the earlier engine documents.
    body = {
        "callback_id": "task-7",
        "source": "agent-a",
        "status": "done",
        "payload": {"rows": [1, 2], "note": "ok"},
    }
    first = client.post("/callbacks", json=body)
    assert first.status_code == 200 and first.json()["received"] is True
    assert set(first.json()) == {"id", "received"} and UUID.match(first.json()["id"])
    # The smallest report: an empty object.
    bare = client.post("/callbacks", json={})
    assert bare.status_code == 200
    # Keys it does not know are ignored, as the earlier engine did.
    extra = client.post("/callbacks", json={"source": "agent-b", "whatever": 1})
    assert extra.status_code == 200
    # Its CLI lists with every filter present, the unused ones empty.
    listing = client.get("/callbacks", params={"source": "", "callback_id": "", "limit": 100})
    assert listing.status_code == 200
    items = listing.json()["callbacks"]
    ids = [item["id"] for item in items]
    assert ids[:3] == [extra.json()["id"], bare.json()["id"], first.json()["id"]]  # newest first
    newest_first = items[2]
    assert set(newest_first) == ITEM_KEYS and ISO.match(newest_first["received_at"])
    assert {k: newest_first[k] for k in body} == body
    assert items[1]["payload"] == {} and items[1]["source"] is None
    by_source = client.get("/callbacks?source=agent-a").json()["callbacks"]
    assert [item["id"] for item in by_source] == [first.json()["id"]]
    by_id = client.get("/callbacks", params={"callback_id": "task-7"}).json()["callbacks"]
    assert [item["id"] for item in by_id] == [first.json()["id"]]
    assert len(client.get("/callbacks?limit=1").json()["callbacks"]) == 1
    # Read and delete by a prefix of the id, like jobs.
    prefix = first.json()["id"][:8]
    assert client.get(f"/callbacks/{prefix}").json() == newest_first
    deleted = client.delete(f"/callbacks/{prefix}")
    assert deleted.json() == {"status": "deleted", "id": first.json()["id"]}
    for method in ("GET", "DELETE"):
        gone = client.request(method, f"/callbacks/{first.json()['id']}")
        assert gone.status_code == 404 and gone.json()["detail"] == "Callback not found"


def test_bad_input_names_the_field_and_stores_nothing(daemon: RunningDaemon) -> None:
    client = daemon.client()
    before = stored_count(daemon)
    for payload, kind in (([1, 2], "an array"), ("text", "a string"), (5, "a number")):
        answer = client.post("/callbacks", json={"callback_id": "x", "payload": payload})
        assert answer.status_code == 422 and answer.json()["field"] == "payload", answer.text
        assert f"payload must be a JSON object (or left out), not {kind}" in answer.json()["detail"]
    wrong_type = client.post("/callbacks", json={"source": 5})
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "source"
    not_an_object = client.post("/callbacks", json=[{"callback_id": "x"}])
    assert not_an_object.status_code == 422
    for limit in (0, -1, "many"):
        answer = client.get("/callbacks", params={"limit": limit})
        assert answer.status_code == 422 and answer.json()["field"] == "limit"
    assert stored_count(daemon) == before


def test_a_job_waits_for_its_callback(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("waiter", inputs={"callback_id": "approve-1"})
    wait_for(
        lambda: any("waiting for approve-1" in e["message"] for e in daemon.logs(job_id)),
        60,
        what="the job to wait",
    )
    assert daemon.job(job_id)["status"] == "running"
    other = daemon.client().post("/callbacks", json={"callback_id": "not-this-one"})
    assert other.status_code == 200
    assert daemon.job(job_id)["status"] == "running"
    posted = daemon.client().post(
        "/callbacks", json={"callback_id": "approve-1", "payload": {"approved": True}}
    )
    assert posted.status_code == 200
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [{"got": {"approved": True}}]


def test_a_callback_that_came_first_is_returned_at_once(daemon: RunningDaemon) -> None:
    daemon.client().post("/callbacks", json={"callback_id": "early", "payload": {"n": 1}})
    job_id = daemon.start_job("waiter", inputs={"callback_id": "early"})
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [{"got": {"n": 1}}]


def test_a_wait_times_out_and_fails_the_job_saying_so(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("waiter", inputs={"callback_id": "never", "timeout": 1})
    job = daemon.wait_job(job_id)
    assert job["status"] == "failed" and "CallbackTimeout" in job["error"]
    assert "never" in job["error"]


def test_a_waiting_job_stops_promptly(daemon: RunningDaemon) -> None:
    job_id = daemon.start_job("waiter", inputs={"callback_id": "stop-me"})
    wait_for(
        lambda: any("waiting for stop-me" in e["message"] for e in daemon.logs(job_id)),
        60,
        what="the job to wait",
    )
    assert daemon.client().post(f"/jobs/{job_id}/stop").status_code == 200
    assert daemon.wait_job(job_id, timeout=30)["status"] == "stopped"


def test_the_wait_survives_a_daemon_restart(make_daemon: Any) -> None:
    daemon: RunningDaemon = make_daemon()
    write_module(daemon.modules_dir, "waiter", WAITER, inputs=WAITER_INPUTS)
    assert daemon.client().post("/modules/reload").status_code == 200
    job_id = daemon.start_job("waiter", inputs={"callback_id": "after-restart"})
    wait_for(
        lambda: any("waiting for after-restart" in e["message"] for e in daemon.logs(job_id)),
        60,
        what="the job to wait",
    )
    daemon.stop()
    daemon.restart()
    posted = daemon.client().post(
        "/callbacks", json={"callback_id": "after-restart", "payload": {"ok": 1}}
    )
    assert posted.status_code == 200
    job = daemon.wait_job(job_id, timeout=90)
    assert job["status"] == "completed" and job["resumes"] >= 1
    assert daemon.results(job_id) == [{"got": {"ok": 1}}]


def test_the_wait_socket_refuses_a_missing_id(daemon: RunningDaemon) -> None:
    from websockets.sync.client import connect

    with connect(daemon.ws_url("/callbacks/wait")) as ws:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
    assert message["type"] == "error" and message["field"] == "callback_id"
    with httpx.Client(base_url=daemon.url) as client:
        assert client.get("/callbacks/wait").json()["detail"] == "Callback not found"


def test_the_example_in_the_module_docs_runs(daemon: RunningDaemon) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "modules.md").read_text()
    section = doc.split("## Waiting for an outside agent", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    write_module(daemon.modules_dir, "approval", code)
    assert daemon.client().post("/modules/reload").status_code == 200
    job_id = daemon.start_job("approval")
    ticket = f"approve-{job_id}"
    wait_for(lambda: any(ticket in e["message"] for e in daemon.logs(job_id)), 60, what="the wait")
    daemon.client().post("/callbacks", json={"callback_id": ticket, "payload": {"approved": True}})
    assert daemon.wait_job(job_id)["status"] == "completed"
    assert daemon.results(job_id) == [{"approved": True}]


def test_a_prefix_must_be_long_and_unique(daemon: RunningDaemon) -> None:
    ids = ["abcdef01-0000-4000-8000-000000000001", "abcdef01-0000-4000-8000-000000000002"]
    with sqlite3.connect(daemon.data_dir / "sweatpants.db", timeout=30) as conn:
        conn.executemany(
            "INSERT INTO callbacks (id, callback_id, source, status, payload, received_at) "
            "VALUES (?, NULL, NULL, NULL, '{}', 0)",
            [(i,) for i in ids],
        )
    client = daemon.client()
    both = client.get("/callbacks/abcdef01")
    assert both.status_code == 409 and sorted(both.json()["matches"]) == ids
    assert client.get("/callbacks/abcdef01-0000-4000-8000-000000000002").json()["id"] == ids[1]
    assert client.get("/callbacks/abcdef0").json()["detail"] == "Callback not found"  # 7 chars
    assert client.delete("/callbacks/abcdef01-0000-4000-8000-00000000000").status_code == 409
