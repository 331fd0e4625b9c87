"""The answer models of `/schedules` (see schemas.py for the conventions)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12


class Schedule(TypedDict):
    """A schedule: what it runs, when, what it does with clashes and missed slots, and where
    it stands."""

    id: str
    name: str | None
    module_id: str
    inputs: Annotated[dict[str, Any], Field(description="as validated; secrets `********`")]
    settings: Annotated[dict[str, Any], Field(description="its own (over the module's stored)")]
    max_duration: str | None
    cron: Annotated[str | None, Field(description="5 fields, evaluated in `timezone`")]
    every: Annotated[str | None, Field(description="a duration like 30s, 15m, 6h")]
    timezone: Annotated[str, Field(description="IANA name (the machine's when none was given)")]
    start_at: Annotated[str | None, Field(description="where `every` counts its slots from")]
    overlap: Literal["skip", "queue", "allow"]
    misfire: Literal["coalesce", "skip"]
    misfire_grace: Annotated[str, Field(description="how late a slot may start as usual")]
    retries: int
    retry_delay: Annotated[str, Field(description="the first wait; doubled each attempt")]
    enabled: bool
    created_at: str
    updated_at: str
    next_run_at: Annotated[str | None, Field(description="the next slot (null while paused)")]
    last_run_at: str | None
    last_job_id: str | None
    last_status: Annotated[str | None, Field(description="the status of the last job")]
    queued: Annotated[bool, Field(description="a run waits for the previous one to end")]
    skipped: Annotated[int, Field(description="slots skipped while the previous run went on")]
    last_skipped_at: str | None


class ScheduleList(TypedDict):
    schedules: list[Schedule]


class FireTime(TypedDict):
    at: Annotated[str, Field(description="ISO 8601, UTC")]
    local: Annotated[str, Field(description="the same instant in the schedule's zone")]


class SchedulePreview(TypedDict):
    """`GET /schedules/{id}/preview`: the next fire times."""

    id: str
    timezone: str
    times: list[FireTime]


class ScheduleDeleted(TypedDict):
    id: str
    deleted: bool
