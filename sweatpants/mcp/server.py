"""The MCP server: `tools.Tools` as MCP tools and resources, on the official SDK's
`MCPServer`, served over stdio.

Each tool runs its REST calls in a worker thread (the CLI's client is synchronous), so a slow
daemon never blocks the protocol. A failure the daemon explains (a 422 naming the field, a
404, the daemon not running) comes back as a tool error carrying the daemon's words, so the
agent can correct itself; stdout carries only the protocol, everything else goes to stderr.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from pydantic import Field

from sweatpants.cli.client import DaemonClient
from sweatpants.cli.target import Target
from sweatpants.errors import SweatpantsError
from sweatpants.mcp.tools import Tools
from sweatpants.version import __version__

T = TypeVar("T")

INSTRUCTIONS = """\
Sweatpants runs Python modules as long-lived, resumable jobs on this machine.
Typical use: list_modules, then describe_module to see a module's inputs (input_schema), then
start_job with those inputs; follow it with job_status, tail_logs and read_results (paged by
next_cursor), and stop_job to end it early. A refused request says which field is wrong.
Secret values are never shown back (they appear as ********).
"""


def build_server(target: Target) -> MCPServer[Any]:
    """An MCP server whose tools talk to the daemon at `target`."""
    server: MCPServer[Any] = MCPServer(
        name="sweatpants",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    tools = Tools(DaemonClient(target))

    async def call(function: Callable[..., T], *args: Any, error: type[Exception] = ToolError) -> T:
        try:
            return await asyncio.to_thread(functools.partial(function, *args))
        except SweatpantsError as exc:
            text = (
                exc.detail
                if not exc.field or exc.field in exc.detail
                else (f"{exc.detail} (field: {exc.field})")
            )
            raise error(text) from None

    @server.tool(description="The modules installed in the daemon: id, name, version, description.")
    async def list_modules() -> dict[str, Any]:
        return await call(tools.list_modules)

    @server.tool(
        description=(
            "A module's inputs and settings as declared, with input_schema / settings_schema "
            "(JSON Schema) to fill in for start_job. Secret defaults are masked."
        )
    )
    async def describe_module(
        module_id: Annotated[str, Field(description="the module's id, from list_modules")],
    ) -> dict[str, Any]:
        return await call(tools.describe_module, module_id)

    @server.tool(
        description=(
            "Start a job of a module. Inputs are checked against the module's declaration: a "
            "wrong or missing one is refused naming the field. Returns the job id."
        )
    )
    async def start_job(
        module_id: Annotated[str, Field(description="the module's id")],
        inputs: Annotated[
            dict[str, Any] | None, Field(description="input values by id (see describe_module)")
        ] = None,
        settings: Annotated[
            dict[str, Any] | None,
            Field(description="settings for this job only, over the module's stored ones"),
        ] = None,
        max_duration: Annotated[
            str | None, Field(description="stop the job after this long: 30m, 2h, 7d")
        ] = None,
    ) -> dict[str, Any]:
        return await call(tools.start_job, module_id, inputs, settings, max_duration)

    @server.tool(
        description=(
            "A job's status (pending, running, completed, failed, stopped), progress, "
            "counts of results and log lines, and its error if it failed."
        )
    )
    async def job_status(
        job_id: Annotated[str, Field(description="the job id (or a unique prefix of 8+)")],
    ) -> dict[str, Any]:
        return await call(tools.job_status, job_id)

    @server.tool(description="Recent jobs, newest first; filter by status and module.")
    async def list_jobs(
        status: Annotated[
            str | None, Field(description="pending, running, completed, failed or stopped")
        ] = None,
        module_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        return await call(tools.list_jobs, status, module_id, limit)

    @server.tool(description="The last log lines of a job, oldest first (secrets redacted).")
    async def tail_logs(
        job_id: str,
        lines: Annotated[int, Field(ge=1, le=1000, description="how many lines")] = 50,
        level: Annotated[
            str | None, Field(description="only lines of this level: DEBUG, INFO, WARNING or ERROR")
        ] = None,
    ) -> dict[str, Any]:
        return await call(tools.tail_logs, job_id, lines, level)

    @server.tool(
        description=(
            "A page of a job's results in order. Pass next_cursor back as `after` for the "
            "next page; next_cursor is null at the end (for now: a running job adds more)."
        )
    )
    async def read_results(
        job_id: str,
        after: Annotated[int, Field(ge=0, description="the cursor from the last page")] = 0,
        limit: Annotated[int, Field(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        return await call(tools.read_results, job_id, after, limit)

    @server.tool(description="Stop a pending or running job (it may take a moment to end).")
    async def stop_job(job_id: str) -> dict[str, Any]:
        return await call(tools.stop_job, job_id)

    @server.tool(description="The daemon's schedules: what runs when, and how the last run went.")
    async def list_schedules() -> dict[str, Any]:
        return await call(tools.list_schedules)

    @server.tool(
        description=(
            "Run a module on a schedule: `cron` (5 fields) or `every` (30s, 15m, 6h), with "
            "inputs as for start_job. Returns the schedule with its next_run_at."
        )
    )
    async def create_schedule(
        module_id: str,
        cron: str | None = None,
        every: str | None = None,
        inputs: dict[str, Any] | None = None,
        name: str | None = None,
        timezone: Annotated[str | None, Field(description="IANA name, e.g. Europe/Paris")] = None,
        max_duration: str | None = None,
    ) -> dict[str, Any]:
        given = {
            "module_id": module_id, "cron": cron, "every": every, "inputs": inputs,
            "name": name, "timezone": timezone, "max_duration": max_duration,
        }  # fmt: skip
        return await call(tools.create_schedule, {k: v for k, v in given.items() if v is not None})

    @server.tool(description="Delete a schedule (its past jobs stay).")
    async def delete_schedule(schedule_id: str) -> dict[str, Any]:
        return await call(tools.delete_schedule, schedule_id)

    @server.resource(
        "sweatpants://jobs/{job_id}/logs",
        name="job-logs",
        description="A job's last 1,000 log lines as text.",
        mime_type="text/plain",
    )
    async def job_logs(job_id: str) -> str:
        return await call(tools.log_text, job_id, error=ResourceError)

    @server.resource(
        "sweatpants://jobs/{job_id}/results",
        name="job-results",
        description="A job's first 1,000 results as NDJSON (read_results pages through all).",
        mime_type="application/x-ndjson",
    )
    async def job_results(job_id: str) -> str:
        return await call(tools.results_ndjson, job_id, error=ResourceError)

    return server


def serve_stdio(target: Target) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    build_server(target).run("stdio")
