"""Deleting jobs: `DELETE /jobs/{id}` and `POST /jobs/prune` (the engine's `retention`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from sweatpants.api.deps import get_engine
from sweatpants.api.housekeeping_schemas import JobDeleted, PruneReport
from sweatpants.api.openapi import errors
from sweatpants.engine import Engine
from sweatpants.errors import InvalidInput
from sweatpants.jobs.retention import checked_statuses, older_than_seconds

router = APIRouter()


class PruneRequest(BaseModel):
    """POST /jobs/prune. Values are checked by the engine, which names a wrong one."""

    model_config = ConfigDict(extra="forbid")

    older_than: Any = Field(
        default=None, description="a duration like `30d`; `0s` means every finished job"
    )
    status: Any = Field(
        default=None, description="only jobs in these states (completed, failed, stopped)"
    )
    module_id: Any = Field(default=None, description="only jobs of this module")
    keep_last: Any = Field(
        default=None, description="keep the newest N finished jobs that match, however old"
    )


@router.delete("/jobs/{job_id}", response_model=JobDeleted, responses=errors(404, 409, 422))
async def delete_job(job_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    """Delete a finished job with its logs, results and checkpoint (409 while it runs)."""
    return await engine.retention.delete(job_id)


@router.post("/jobs/prune", response_model=PruneReport, responses=errors(415, 422))
async def prune_jobs(request: PruneRequest, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    """Delete the finished jobs that ended longer ago than `older_than` and match."""
    older_than = older_than_seconds(request.older_than)
    statuses = checked_statuses(request.status)
    module_id = request.module_id
    if module_id is not None and (not isinstance(module_id, str) or not module_id):
        raise InvalidInput("module_id must be a module id", field="module_id")
    keep_last = request.keep_last if request.keep_last is not None else 0
    if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 0:
        raise InvalidInput("keep_last must be a whole number >= 0", field="keep_last")
    return await engine.retention.prune(
        older_than=older_than, statuses=statuses, module_id=module_id, keep_last=keep_last
    )
