"""Turning API values into what a person reads: short ids, durations, local times, progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sweatpants.jobs.models import human_duration

SHORT_ID = 8


def short_id(job_id: str) -> str:
    return job_id[:SHORT_ID]


def elapsed_text(seconds: float) -> str:
    """`0.8s`, `45s`, `3m 20s`, `2h 15m`, `3d 4h` (two units at most, like `uptime`)."""
    if 0 < seconds < 10 and seconds != int(seconds):
        return f"{seconds:.1f}s"
    return human_duration(max(0, seconds))


def parse_time(value: Any) -> datetime | None:
    """`2024-01-15T10:30:05.123Z` (or any ISO 8601 text) → aware datetime; None if absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def local_time(value: Any, *, seconds: bool = True) -> str:
    """An API timestamp in the user's local time zone; "" if absent."""
    parsed = parse_time(value)
    if parsed is None:
        return ""
    return parsed.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def job_runtime(job: dict[str, Any], now: datetime | None = None) -> str:
    """How long a job ran (or has been running); "" if it never started."""
    started = parse_time(job.get("started_at"))
    if started is None:
        return ""
    ended = parse_time(job.get("completed_at")) or now or datetime.now(UTC)
    return elapsed_text((ended - started).total_seconds())


def progress_text(progress: Any) -> str:
    """`30/100 (30%)`, `30` without a total, "" without progress."""
    if not isinstance(progress, dict) or progress.get("done") is None:
        return ""
    done, total = progress.get("done"), progress.get("total")
    if isinstance(total, int | float) and total > 0 and isinstance(done, int | float):
        return f"{done:g}/{total:g} ({min(100, int(done * 100 / total))}%)"
    return f"{done}"


def cell(value: Any, width: int = 60) -> str:
    """A value squeezed into one table cell."""
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = f"{value}"
    else:
        import json

        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
