"""Numbers over time for the dashboard's charts: one job's timeline, jobs per day."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from sweatpants.api import schemas
from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.engine import Engine

router = APIRouter()

MAX_BUCKETS = 1000
MAX_DAYS = 366


# Sent as built (like /status and GET /jobs): up to 11 columns of 1,000 values, already in the
# shape `schemas.Timeline` describes; validating them again would cost more than the query.
@router.get(
    "/jobs/{job_id}/timeline",
    response_model=schemas.Timeline,
    response_class=JSONResponse,
    responses=errors(404, 409, 422),
)
async def job_timeline(
    job_id: str,
    buckets: int = Query(
        200,
        ge=1,
        le=MAX_BUCKETS,
        description=(
            "how many buckets to cut the job's life into (1 to 1,000); each is a whole number "
            "of seconds, so a job shorter than `buckets` seconds gets fewer"
        ),
    ),
    engine: Engine = Depends(get_engine),
) -> JSONResponse:
    job = await engine.jobs.reads.find(job_id)
    return JSONResponse(await engine.jobs.reads.timeline(job, buckets, time.time()))


@router.get("/stats/jobs", response_model=schemas.JobStats, responses=errors(422))
async def job_stats(
    days: int = Query(
        30, ge=1, le=MAX_DAYS, description="how many local days, today included (1 to 366)"
    ),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    return await engine.jobs.reads.job_stats(days, time.time())
