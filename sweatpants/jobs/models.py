"""Job states, durations and the job's API shape."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sweatpants.errors import InvalidInput


class JobStatus(StrEnum):
    PENDING = "pending"  # accepted, waiting for a free slot (or to resume after a restart)
    RUNNING = "running"  # its process is alive and reporting
    COMPLETED = "completed"  # run() returned normally
    FAILED = "failed"  # run() raised, the process crashed, or it exited non-zero
    STOPPED = "stopped"  # stopped on request or by max_duration

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED})

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")


def parse_duration(text: str, *, field: str = "max_duration") -> float:
    """`30m`, `2h`, `7d`, `1h30m`, `90s` → seconds. Anything else is a clear error."""
    cleaned = text.strip().lower().replace(" ", "")
    if not cleaned:
        raise InvalidInput(f"{field} is empty; use a duration like 30m, 2h or 7d", field=field)
    position, total = 0, 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(cleaned) or total <= 0:
        raise InvalidInput(
            f"{field} {text!r} is not a duration; use a number with a unit s, m, h, d or w, "
            "like 30m, 2h, 7d or 1h30m",
            field=field,
        )
    return total


def iso(ts: float | None) -> str | None:
    """Epoch seconds → `2024-01-15T10:30:05.123Z`."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def human_duration(seconds: float) -> str:
    """`2h 15m`, `3d 4h`, `45s` — the style of the earlier engine's `uptime`."""
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def job_to_api(row: sqlite3.Row) -> dict[str, Any]:
    """A jobs-table row as the API shows it."""
    progress = None
    if row["progress_done"] is not None:
        progress = {"done": row["progress_done"], "total": row["progress_total"]}
    return {
        "id": row["id"],
        "module_id": row["module_id"],
        "module": row["module_id"],
        "status": row["status"],
        "inputs": json.loads(row["inputs"]),
        "settings": json.loads(row["settings"]),
        "max_duration": row["max_duration"],
        "created_at": iso(row["created_at"]),
        "started_at": iso(row["started_at"]),
        "completed_at": iso(row["completed_at"]),
        "deadline_at": iso(row["deadline_at"]),
        "error": row["error"],
        "traceback": row["traceback"],
        "exit_code": row["exit_code"],
        "checkpoint": json.loads(row["checkpoint"]) if row["checkpoint"] else None,
        "progress": progress,
        "result_count": row["result_count"],
        "log_count": row["log_count"],
        "resumes": row["resumes"],
        "pid": row["pid"],
        "executor": row["executor"],
        "node": row["node"],
    }
