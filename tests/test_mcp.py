"""`sweatpants mcp` with the official SDK's own client: a stdio client spawns
`python -m sweatpants mcp`, which drives a real daemon (with a token) over its REST API.

One session lists and describes modules, starts the bundled hello module, reads its logs and
results (paged, and as resources), stops a long job, is refused a bad input naming the field,
and never shows a secret value back.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

pytestmark = [pytest.mark.live]

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "mcp-test-token"
SECRET = "hunter2-very-secret"
WAIT_SECONDS = 60.0

SLEEPER = """
import asyncio
from sweatpants import Module


class Sleeper(Module):
    async def run(self, inputs, settings):
        for i in range(1200):  # at most 2 minutes
            if self.is_cancelled:
                await self.log("asked to stop", "WARNING")
                return
            await self.log(f"tick {i}")
            await asyncio.sleep(0.1)
        yield {"ticks": 1200}
"""

KEYED = """
from sweatpants import Module


class Keyed(Module):
    async def run(self, inputs, settings):
        await self.log(f"using key {inputs['api_key']} for {inputs['what']}")
        yield {"what": inputs["what"], "key_length": len(inputs["api_key"])}
"""


@pytest.fixture(scope="module")
def mcp_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    root = tmp_path_factory.mktemp("mcp")
    daemon = RunningDaemon(root / "data", token=TOKEN)
    daemon.start()
    client = daemon.client()
    assert client.get("/modules/hello").status_code == 200  # the example, offered at first start
    sources = [
        write_module(root / "src", "sleeper", SLEEPER),
        write_module(
            root / "src",
            "keyed",
            KEYED,
            inputs=[
                {"id": "api_key", "type": "secret", "required": True, "default": "default-key-x"},
                {"id": "what", "type": "select", "options": ["cats", "dogs"], "required": True},
            ],
        ),
    ]
    for source in sources:
        answer = client.post("/modules/install", json={"source_path": str(source)})
        assert answer.status_code == 200, answer.text
    yield daemon
    daemon.stop()


def server_parameters(daemon: RunningDaemon) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWEATPANTS_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "SWEATPANTS_URL": daemon.url,
            "SWEATPANTS_API_AUTH_TOKEN": TOKEN,
            "SWEATPANTS_DATA_DIR": str(daemon.data_dir.parent / "mcp-client-data"),
        }
    )
    return StdioServerParameters(command=sys.executable, args=["-m", "sweatpants", "mcp"], env=env)


class Agent:
    """The session, and every text the server sent back (to look for secrets in)."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.transcript: list[str] = []

    async def use(self, tool: str, /, **arguments: Any) -> dict[str, Any]:
        result = await self.session.call_tool(tool, arguments)
        self.transcript.append(result.model_dump_json())
        assert not result.is_error, (tool, result.content)
        structured: dict[str, Any] = result.structured_content
        return structured

    async def refused(self, tool: str, /, **arguments: Any) -> str:
        result = await self.session.call_tool(tool, arguments)
        self.transcript.append(result.model_dump_json())
        assert result.is_error, (tool, result.structured_content)
        return " ".join(getattr(block, "text", "") for block in result.content)

    async def read(self, uri: str) -> str:
        answer = await self.session.read_resource(uri)
        self.transcript.append(answer.model_dump_json())
        return "".join(getattr(content, "text", "") for content in answer.contents)

    async def wait_status(self, job_id: str, wanted: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        for _ in range(10_000):
            job = await self.use("job_status", job_id=job_id)
            if job["status"] in wanted:
                return job
            if time.monotonic() > deadline:
                break
            await anyio.sleep(0.1)
        raise AssertionError(f"job {job_id} never reached {wanted}: {job}")


async def scenario(daemon: RunningDaemon) -> Agent:
    async with (
        stdio_client(server_parameters(daemon)) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        agent = Agent(session)
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert {
            "list_modules", "describe_module", "start_job", "job_status", "list_jobs",
            "tail_logs", "read_results", "stop_job", "list_schedules", "create_schedule",
            "delete_schedule",
        } <= tools  # fmt: skip
        templates = await session.list_resource_templates()
        assert {t.uri_template for t in templates.resource_templates} == {
            "sweatpants://jobs/{job_id}/logs",
            "sweatpants://jobs/{job_id}/results",
        }

        modules = await agent.use("list_modules")
        assert {m["id"] for m in modules["modules"]} == {"hello", "sleeper", "keyed"}
        hello = await agent.use("describe_module", module_id="hello")
        schema = hello["input_schema"]
        assert schema["properties"]["count"] == {
            "type": "integer", "description": "How many greetings.", "default": 5
        }  # fmt: skip
        assert schema["required"] == []

        # The hello module: start, wait, logs, results one page at a time, resources.
        started = await agent.use(
            "start_job", module_id="hello", inputs={"name": "Agent", "count": 3, "delay": 0}
        )
        job = await agent.wait_status(started["id"], {"completed", "failed", "stopped"})
        assert job["status"] == "completed" and job["result_count"] == 3
        logs = await agent.use("tail_logs", job_id=started["id"], lines=2)
        assert len(logs["lines"]) == 2 and logs["lines"][-1].endswith("INFO    Done")
        first = await agent.use("read_results", job_id=started["id"], limit=2)
        assert [r["n"] for r in first["results"]] == [0, 1] and first["total"] == 3
        rest = await agent.use(
            "read_results", job_id=started["id"], after=first["next_cursor"], limit=2
        )
        assert rest["results"] == [{"greeting": "Hello, Agent! (3/3)", "n": 2}]
        assert rest["next_cursor"] is None
        text = await agent.read(f"sweatpants://jobs/{started['id']}/logs")
        assert "Hello, Agent! (1/3)" in text and "Done" in text
        ndjson = await agent.read(f"sweatpants://jobs/{started['id']}/results")
        assert [json.loads(line)["n"] for line in ndjson.splitlines()] == [0, 1, 2]
        listed = await agent.use("list_jobs", module_id="hello")
        assert [j["id"] for j in listed["jobs"]] == [started["id"]]

        # A long job, stopped.
        long_job = await agent.use("start_job", module_id="sleeper")
        await agent.wait_status(long_job["id"], {"running"})
        stopping = await agent.use("stop_job", job_id=long_job["id"])
        assert stopping["status"] in {"stopping", "stopped"}
        stopped = await agent.wait_status(long_job["id"], {"completed", "failed", "stopped"})
        assert stopped["status"] == "stopped"

        # Refusals carry the daemon's words and the field.
        said = await agent.refused("start_job", module_id="hello", inputs={"count": "many"})
        assert "inputs.count" in said and "integer" in said
        said = await agent.refused("job_status", job_id="00000000-no-such-job")
        assert "not found" in said.lower() or "no job" in said.lower()

        # Schedules: made, listed, refused with the field, deleted.
        made = await agent.use(
            "create_schedule", module_id="hello", every="6h", inputs={"count": 1}, name="agent"
        )
        assert made["module_id"] == "hello" and made["next_run_at"]
        listed_schedules = await agent.use("list_schedules")
        assert [s["id"] for s in listed_schedules["schedules"]] == [made["id"]]
        said = await agent.refused("create_schedule", module_id="hello", every="soon")
        assert "every" in said
        await agent.use("delete_schedule", schedule_id=made["id"])
        assert (await agent.use("list_schedules"))["schedules"] == []

        # Secrets: the default is masked, the value never comes back (status, logs, lists).
        keyed = await agent.use("describe_module", module_id="keyed")
        assert keyed["inputs"][0]["default"] == "********"
        assert "default" not in keyed["input_schema"]["properties"]["api_key"]
        assert keyed["input_schema"]["properties"]["what"]["enum"] == ["cats", "dogs"]
        said = await agent.refused(
            "start_job", module_id="keyed", inputs={"api_key": SECRET, "what": "mice"}
        )
        assert "inputs.what" in said and SECRET not in said
        secret_job = await agent.use(
            "start_job", module_id="keyed", inputs={"api_key": SECRET, "what": "cats"}
        )
        done = await agent.wait_status(secret_job["id"], {"completed", "failed", "stopped"})
        assert done["status"] == "completed" and done["inputs"]["api_key"] == "********"
        await agent.use("tail_logs", job_id=secret_job["id"])
        await agent.read(f"sweatpants://jobs/{secret_job['id']}/logs")
        await agent.use("list_jobs")
        return agent


@pytest.mark.timeout(240)
def test_an_agent_drives_the_daemon_over_mcp(mcp_daemon: RunningDaemon) -> None:
    agent = anyio.run(scenario, mcp_daemon)
    everything = "\n".join(agent.transcript)
    assert "using key ********" in everything or "using key *" in everything
    assert SECRET not in everything and "default-key-x" not in everything


def test_a_tool_says_when_the_daemon_is_not_running() -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    from sweatpants.cli.target import Target
    from sweatpants.mcp.server import build_server

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = build_server(Target(url=f"http://127.0.0.1:{port}", token="", source="test"))

    async def ask() -> str:
        with pytest.raises(ToolError) as caught:
            await server.call_tool("list_modules", {})
        return str(caught.value)

    said = anyio.run(ask)
    assert f"not reachable at http://127.0.0.1:{port}" in said and "sweatpants serve" in said


async def over_http(daemon: RunningDaemon) -> tuple[list[str], dict[str, Any], list[Any]]:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(f"{daemon.url}/mcp", http_client=http) as streams,
        ClientSession(streams[0], streams[1]) as session,
    ):
        await session.initialize()
        agent = Agent(session)
        tools = sorted(tool.name for tool in (await session.list_tools()).tools)
        started = await agent.use(
            "start_job", module_id="hello", inputs={"name": "HTTP", "count": 2, "delay": 0}
        )
        job = await agent.wait_status(started["id"], {"completed", "failed", "stopped"})
        results = await agent.use("read_results", job_id=started["id"])
        return tools, job, results["results"]


def test_the_daemon_serves_mcp_over_http_behind_its_guard(mcp_daemon: RunningDaemon) -> None:
    """`/mcp` on the daemon: the same tools over streamable HTTP, with the token; refused
    without it, from a foreign Origin and for a foreign Host, like every other endpoint."""
    import httpx

    tools, job, results = anyio.run(over_http, mcp_daemon)
    assert {"list_modules", "start_job", "read_results", "stop_job"} <= set(tools)
    assert job["status"] == "completed"
    assert [r["greeting"] for r in results] == ["Hello, HTTP! (1/2)", "Hello, HTTP! (2/2)"]

    hello = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    url = f"{mcp_daemon.url}/mcp"
    token = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(url, json=hello, timeout=30).status_code == 401
    foreign_origin = {**token, "Origin": "http://attacker.example"}
    assert httpx.post(url, json=hello, headers=foreign_origin, timeout=30).status_code == 403
    rebinding = {**token, "Host": "attacker.example"}
    assert httpx.post(url, json=hello, headers=rebinding, timeout=30).status_code == 403
