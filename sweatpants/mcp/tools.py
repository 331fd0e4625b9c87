"""What an agent can do with Sweatpants over MCP, each a call (or a few) to the daemon's REST
API through the CLI's client, answered with plain JSON-ready values.

Secrets: the daemon already shows secret inputs and settings of jobs as `********` and
redacts them from log lines; `describe_module` also masks the default of a secret field
(which `GET /modules/{id}` shows as written), and nothing here echoes a value the agent sent.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sweatpants.cli.client import LONG_TIMEOUT, DaemonClient
from sweatpants.mcp.fields import masked_field, object_schema

LOG_LINES_MAX = 1000
RESULTS_MAX = 1000
JOB_KEYS = (
    "id", "module_id", "status", "inputs", "settings", "max_duration", "created_at",
    "started_at", "completed_at", "progress", "result_count", "log_count", "error", "resumes",
)  # fmt: skip


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


def _job(job: dict[str, Any]) -> dict[str, Any]:
    """The parts of a job an agent needs (no traceback, pid or node)."""
    return {key: job.get(key) for key in JOB_KEYS if key in job}


class Tools:
    """The operations, over one daemon client."""

    def __init__(self, client: DaemonClient) -> None:
        self.client = client

    def list_modules(self) -> dict[str, Any]:
        answer = self.client.get("/modules")
        keys = ("id", "name", "version", "description", "capabilities")
        return {"modules": [{k: m.get(k) for k in keys} for m in answer.get("modules", [])]}

    def describe_module(self, module_id: str) -> dict[str, Any]:
        module = self.client.get(_path("modules", module_id))
        inputs = [masked_field(f) for f in module.get("inputs") or []]
        settings = [masked_field(f) for f in module.get("settings") or []]
        return {
            "id": module.get("id"),
            "name": module.get("name"),
            "version": module.get("version"),
            "description": module.get("description"),
            "capabilities": module.get("capabilities") or [],
            "inputs": inputs,
            "settings": settings,
            "input_schema": object_schema(inputs),
            "settings_schema": object_schema(settings),
        }

    def start_job(
        self,
        module_id: str,
        inputs: dict[str, Any] | None,
        settings: dict[str, Any] | None,
        max_duration: str | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"module_id": module_id, "inputs": inputs or {}}
        if settings:
            body["settings"] = settings
        if max_duration:
            body["max_duration"] = max_duration
        started = self.client.post("/jobs", body)
        return {"id": started.get("id"), "status": started.get("status")}

    def job_status(self, job_id: str) -> dict[str, Any]:
        return _job(self.client.get(_path("jobs", job_id)))

    def list_jobs(self, status: str | None, module_id: str | None, limit: int) -> dict[str, Any]:
        params = {"status": status, "module_id": module_id, "limit": max(1, min(limit, 100))}
        answer = self.client.get("/jobs", params=params)
        return {
            "jobs": [_job(job) for job in answer.get("jobs", [])],
            "next_cursor": answer.get("next_cursor"),
        }

    def tail_logs(self, job_id: str, lines: int, level: str | None) -> dict[str, Any]:
        params = {"limit": max(1, min(lines, LOG_LINES_MAX)), "level": level}
        answer = self.client.get(_path("jobs", job_id, "logs"), params=params)
        entries = answer.get("logs", [])
        return {
            "lines": [f"{e['timestamp']} {e['level']:<7} {e['message']}" for e in entries],
            "last_id": entries[-1]["id"] if entries else None,
        }

    def read_results(self, job_id: str, after: int, limit: int) -> dict[str, Any]:
        params = {"after": max(0, after), "limit": max(1, min(limit, RESULTS_MAX))}
        answer = self.client.get(_path("jobs", job_id, "results"), params=params)
        return {
            "results": [item.get("data") for item in answer.get("results", [])],
            "first_seq": answer["results"][0]["seq"] if answer.get("results") else None,
            "total": answer.get("total"),
            "next_cursor": answer.get("next_cursor"),
        }

    def stop_job(self, job_id: str) -> dict[str, Any]:
        answer = self.client.post(_path("jobs", job_id, "stop"))
        return {"id": answer.get("id"), "status": answer.get("status")}

    # ----- schedules (GET/POST /schedules, DELETE /schedules/{id})

    def list_schedules(self) -> dict[str, Any]:
        answer = self.client.get("/schedules")
        return {"schedules": answer.get("schedules", [])}

    def create_schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        schedule: dict[str, Any] = self.client.post("/schedules", body, timeout=LONG_TIMEOUT)
        return schedule

    def delete_schedule(self, schedule_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.client.delete(_path("schedules", schedule_id))
        return answer

    # ----- resources

    def log_text(self, job_id: str) -> str:
        return "\n".join(self.tail_logs(job_id, LOG_LINES_MAX, None)["lines"]) + "\n"

    def results_ndjson(self, job_id: str) -> str:
        import json

        page = self.read_results(job_id, 0, RESULTS_MAX)
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in page["results"])
