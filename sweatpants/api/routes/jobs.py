"""Jobs: list, start, inspect, stop, run again."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from sweatpants.api import schemas
from sweatpants.api.deps import created_by, get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.paging import MAX_JOBS, limit_query, page_size
from sweatpants.engine import Engine
from sweatpants.jobs.models import JobStatus, JobTrigger
from sweatpants.jobs.search import JobFilter, Order, SortKey, encode_cursor, key_of, parse_time

router = APIRouter()


class JobRequest(BaseModel):
    """POST /jobs. Unknown keys are ignored, as the earlier engine did."""

    model_config = ConfigDict(extra="ignore")

    module_id: str = Field(min_length=1, max_length=200)
    inputs: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    max_duration: str | None = Field(default=None, max_length=40)
    executor: str | None = Field(default=None, max_length=40)  # local or ray; default: settings
    retries: int = Field(default=0, ge=0, le=100)  # failed attempts tried again
    retry_delay: str | None = Field(default=None, max_length=40)  # first backoff; default 30s


class RerunRequest(BaseModel):
    """POST /jobs/{id}/rerun: what to change, key by key, from the job being run again."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    max_duration: str | None = Field(default=None, max_length=40)  # null: no limit
    executor: str | None = Field(default=None, max_length=40)


# A page is sent as built (like /status): up to 1,000 jobs, each already in the shape that
# `schemas.Job` describes (tests/test_openapi.py checks that against a real daemon).
@router.get(
    "/jobs",
    response_model=schemas.JobPage,
    response_class=JSONResponse,
    responses=errors(404, 409, 422),
)
async def list_jobs(
    status: JobStatus | None = None,
    module_id: str | None = None,
    limit: int = limit_query(100, MAX_JOBS, "jobs"),
    before: str | None = Query(
        None, description="`next_cursor` of the previous page (the id of its last job)"
    ),
    schedule_id: str | None = Query(None, description="only the jobs this schedule started"),
    trigger: JobTrigger | None = Query(None, description="only jobs started this way"),
    q: str | None = Query(
        None,
        max_length=200,
        description="text to find: an id prefix, or part of the module id, the error or an "
        "input value (case-insensitive; secret values never match)",
    ),
    since: str | None = Query(
        None, max_length=40, description="created at or after: 2026-03-01, an ISO time, or 2d"
    ),
    until: str | None = Query(
        None, max_length=40, description="created before: 2026-03-01, an ISO time, or 12h"
    ),
    sort: SortKey = Query("created", description="created, duration or results"),
    order: Order = Query("desc", description="desc (default) or asc"),
    engine: Engine = Depends(get_engine),
) -> JSONResponse:
    size = page_size(limit, MAX_JOBS)
    now = time.time()
    where = JobFilter(
        status=status.value if status else None,
        module_id=module_id,
        q=q.strip() if q and q.strip() else None,
        since=parse_time(since, "since", now) if since is not None else None,
        until=parse_time(until, "until", now) if until is not None else None,
        trigger=trigger.value if trigger else None,
        schedule_id=schedule_id,
    )
    jobs, last = await engine.jobs.search(where, sort=sort, order=order, before=before, limit=size)
    next_cursor = None
    if last is not None:  # the default order's cursor stays the last id, as it always was
        plain = (sort, order) == ("created", "desc")
        next_cursor = last.id if plain else encode_cursor(sort, order, key_of(last, sort))
    return JSONResponse({"jobs": [job.to_api() for job in jobs], "next_cursor": next_cursor})


@router.post(
    "/jobs", response_model=schemas.JobSubmitted, responses=errors(404, 409, 415, 422, 503)
)
async def start_job(
    request: JobRequest, incoming: Request, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    job = await engine.jobs.submit(
        request.module_id,
        request.inputs,
        request.settings,
        request.max_duration,
        executor=request.executor,
        retries=request.retries,
        retry_delay=request.retry_delay,
        created_by=created_by(incoming),
    )
    return {"id": job.id, "status": job.status.value}


@router.get("/jobs/{job_id}", response_model=schemas.Job, responses=errors(404, 409, 422))
async def get_job(job_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return (await engine.jobs.get(job_id)).to_api()


@router.post(
    "/jobs/{job_id}/stop", response_model=schemas.JobStopped, responses=errors(404, 409, 422)
)
async def stop_job(job_id: str, engine: Engine = Depends(get_engine)) -> dict[str, str]:
    return await engine.jobs.stop(job_id)


@router.post(
    "/jobs/{job_id}/rerun",
    response_model=schemas.JobSubmitted,
    responses=errors(404, 409, 415, 422, 503),
)
async def rerun_job(
    job_id: str,
    incoming: Request,
    request: RerunRequest | None = None,
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    """A new job with the same module, inputs and settings (secrets copied inside the
    daemon), with the body's values over them key by key."""
    overrides = request.model_dump(exclude_unset=True) if request is not None else {}
    job = await engine.rerun(job_id, overrides, created_by(incoming))
    return {"id": job.id, "status": job.status.value}
