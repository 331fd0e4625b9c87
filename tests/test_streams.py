"""WebSocket streams: logs (stored then live, pings, end) and job events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.support import sample_modules as samples
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = pytest.mark.live

N_INPUT = [{"id": "n", "type": "integer", "required": True}]

QUIET = """
import asyncio
from sweatpants import Module

class Quiet(Module):
    async def run(self, inputs, settings):
        await self.log("first")
        await asyncio.sleep(inputs["wait"])
        await self.log("second")
        yield {"done": True}
"""


def read_until_end(ws, limit: int = 100_000) -> list[dict[str, Any]]:
    messages = []
    for _ in range(limit):
        message = json.loads(ws.recv(timeout=30))
        messages.append(message)
        if message["type"] == "end":
            return messages
    raise AssertionError("no end message")


def test_late_subscriber_gets_every_stored_entry_then_the_end(daemon: RunningDaemon) -> None:
    write_module(daemon.modules_dir, "counter", samples.COUNTER, inputs=N_INPUT)
    job_id = daemon.start_job("counter", inputs={"n": 1500})
    daemon.wait_job(job_id)
    with connect(daemon.ws_url(f"/jobs/{job_id[:8]}/logs/stream")) as ws:
        messages = read_until_end(ws)
    logs = [m for m in messages if m["type"] == "log"]
    assert [m["message"] for m in logs] == [f"item {i}" for i in range(1500)]
    assert {"timestamp", "level", "message", "id"} <= set(logs[0])
    assert messages[-1] == {"type": "end", "status": "completed", "error": None}


def test_live_entries_pings_and_resuming_after_an_id(make_daemon) -> None:
    daemon = make_daemon(env={"SWEATPANTS_WS_PING_SECONDS": "0.2"})
    write_module(daemon.modules_dir, "quiet", QUIET, inputs=[{"id": "wait", "type": "number"}])
    job_id = daemon.start_job("quiet", inputs={"wait": 1.0})
    with connect(daemon.ws_url(f"/jobs/{job_id}/logs/stream")) as ws:
        messages = read_until_end(ws)
    kinds = [m["type"] for m in messages]
    assert kinds.count("ping") >= 2
    logs = [m for m in messages if m["type"] == "log"]
    assert [m["message"] for m in logs] == ["first", "second"]
    with connect(daemon.ws_url(f"/jobs/{job_id}/logs/stream?after={logs[0]['id']}")) as ws:
        rest = read_until_end(ws)
    assert [m["message"] for m in rest if m["type"] == "log"] == ["second"]


def test_stream_of_an_unknown_job_says_so(daemon: RunningDaemon) -> None:
    with connect(daemon.ws_url("/jobs/does-not-exist/logs/stream")) as ws:
        message = json.loads(ws.recv(timeout=10))
    assert message["type"] == "error" and message["error"] == "not_found"
    assert "does-not-exist" in message["detail"]


def test_events_report_each_state_change(daemon: RunningDaemon) -> None:
    write_module(daemon.modules_dir, "counter", samples.COUNTER, inputs=N_INPUT)
    with connect(daemon.ws_url("/events")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        job_id = daemon.start_job("counter", inputs={"n": 3})
        seen = []
        for _ in range(50):
            event = json.loads(ws.recv(timeout=10))
            if event["type"] == "job" and event["job"]["id"] == job_id:
                seen.append(event["job"]["status"])
                if event["job"]["status"] == "completed":
                    break
    assert seen == ["pending", "running", "completed"]
