"""Schedules: create, list, change, pause and resume, run now, preview the next fire times."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sweatpants.api import schedule_schemas, schemas
from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.engine import Engine
from sweatpants.jobs.models import iso
from sweatpants.schedules.timing import check_zone, parse_instant

router = APIRouter()


class ScheduleFields(BaseModel):
    """The fields a schedule is made of; unknown keys are refused (422 naming them)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    inputs: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    max_duration: str | None = Field(default=None, max_length=40)
    cron: str | None = Field(default=None, max_length=200)
    every: str | None = Field(default=None, max_length=40)
    timezone: str | None = Field(default=None, max_length=100)
    start_at: str | None = Field(default=None, max_length=60)
    overlap: str | None = Field(default=None, max_length=20)
    misfire: str | None = Field(default=None, max_length=20)
    misfire_grace: str | None = Field(default=None, max_length=40)
    retries: int | None = Field(default=None, ge=0, le=100)
    retry_delay: str | None = Field(default=None, max_length=40)
    enabled: bool | None = None


class ScheduleRequest(ScheduleFields):
    """POST /schedules."""

    module_id: str = Field(min_length=1, max_length=200)


class ScheduleChange(ScheduleFields):
    """PATCH /schedules/{id}: only the keys given change."""

    module_id: str | None = Field(default=None, min_length=1, max_length=200)


def _body(request: ScheduleFields) -> dict[str, Any]:
    body = request.model_dump(exclude_unset=True)
    if body.get("start_at") is not None:
        zone = check_zone(body["timezone"]) if body.get("timezone") else None
        body["start_at"] = parse_instant(body["start_at"], "start_at", zone)
    return body


@router.get("/schedules", response_model=schedule_schemas.ScheduleList, responses=errors(422))
async def list_schedules(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return {"schedules": [s.to_api() for s in await engine.schedules.listed()]}


@router.post("/schedules", response_model=schedule_schemas.Schedule, responses=errors(415, 422))
async def create_schedule(
    request: ScheduleRequest, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    return (await engine.schedules.create(_body(request))).to_api()


@router.get(
    "/schedules/{schedule_id}", response_model=schedule_schemas.Schedule, responses=errors(404)
)
async def get_schedule(schedule_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return (await engine.schedules.get(schedule_id)).to_api()


@router.patch(
    "/schedules/{schedule_id}",
    response_model=schedule_schemas.Schedule,
    responses=errors(404, 415, 422),
)
async def change_schedule(
    schedule_id: str, request: ScheduleChange, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    return (await engine.schedules.update(schedule_id, _body(request))).to_api()


@router.delete(
    "/schedules/{schedule_id}",
    response_model=schedule_schemas.ScheduleDeleted,
    responses=errors(404),
)
async def delete_schedule(schedule_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    """The jobs it started stay, still naming it in `schedule_id`."""
    return {"id": await engine.schedules.delete(schedule_id), "deleted": True}


@router.post(
    "/schedules/{schedule_id}/pause",
    response_model=schedule_schemas.Schedule,
    responses=errors(404),
)
async def pause_schedule(schedule_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return (await engine.schedules.set_enabled(schedule_id, False)).to_api()


@router.post(
    "/schedules/{schedule_id}/resume",
    response_model=schedule_schemas.Schedule,
    responses=errors(404),
)
async def resume_schedule(schedule_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    """From the next slot after now: the slots it was paused through are not caught up."""
    return (await engine.schedules.set_enabled(schedule_id, True)).to_api()


@router.post(
    "/schedules/{schedule_id}/run",
    response_model=schemas.JobSubmitted,
    responses=errors(404, 409, 422, 503),
)
async def run_schedule_now(
    schedule_id: str, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    """A run now (trigger `manual`), whatever the overlap policy says."""
    job = await engine.schedules.run_now(schedule_id)
    return {"id": job.id, "status": job.status.value}


@router.get(
    "/schedules/{schedule_id}/preview",
    response_model=schedule_schemas.SchedulePreview,
    responses=errors(404, 422),
)
async def preview_schedule(
    schedule_id: str,
    count: int = Query(10, description="how many fire times (1 to 1000)"),
    start: str | None = Query(
        None,
        alias="from",
        max_length=60,
        description="list the times after this (ISO 8601; without an offset: in the "
        "schedule's zone); default now",
    ),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    schedule = await engine.schedules.get(schedule_id)
    zone = check_zone(schedule.zone_name)
    after = parse_instant(start, "from", zone) if start is not None else None
    times = await engine.schedules.preview(schedule_id, count, after)
    return {
        "id": schedule_id,
        "timezone": schedule.zone_name,
        "times": [
            {"at": iso(t), "local": datetime.fromtimestamp(t, zone).isoformat()} for t in times
        ],
    }
