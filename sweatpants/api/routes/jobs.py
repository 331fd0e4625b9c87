"""Jobs: list, start, inspect, stop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sweatpants.api.deps import get_engine
from sweatpants.engine import Engine
from sweatpants.jobs.models import JobStatus, job_to_api
from sweatpants.store import jobs as job_sql

router = APIRouter()


class JobRequest(BaseModel):
    """POST /jobs. Unknown keys are ignored, as the earlier engine did."""

    model_config = ConfigDict(extra="ignore")

    module_id: str = Field(min_length=1, max_length=200)
    inputs: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    max_duration: str | None = Field(default=None, max_length=40)
    executor: str | None = Field(default=None, max_length=40)  # local or ray; default: settings


@router.get("/jobs")
async def list_jobs(
    status: JobStatus | None = None,
    module_id: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    before: str | None = Query(None, description="id of the last job of the previous page"),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    cursor = None
    if before:
        anchor = await engine.jobs.get(before)
        row = await engine.store.read(lambda c: job_sql.get(c, anchor["id"]))
        cursor = (row["created_at"], row["id"]) if row is not None else None
    rows = await engine.store.read(
        lambda c: job_sql.page(
            c,
            status=status.value if status else None,
            module_id=module_id,
            before=cursor,
            limit=limit,
        )
    )
    jobs = [job_to_api(row) for row in rows]
    next_cursor = jobs[-1]["id"] if len(jobs) == limit else None
    return {"jobs": jobs, "next_cursor": next_cursor}


@router.post("/jobs")
async def start_job(request: JobRequest, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return await engine.jobs.submit(
        request.module_id,
        request.inputs,
        request.settings,
        request.max_duration,
        executor=request.executor,
    )


@router.get("/jobs/{job_id}")
async def get_job(job_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return await engine.jobs.get(job_id)


@router.post("/jobs/{job_id}/stop")
async def stop_job(job_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return await engine.jobs.stop(job_id)
