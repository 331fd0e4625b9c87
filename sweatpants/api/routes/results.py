"""Job results: keyset pages, and streamed exports as NDJSON or CSV."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.paging import MAX_RESULTS, limit_query, page_size
from sweatpants.api.schemas import ResultPage
from sweatpants.engine import Engine

router = APIRouter()


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@router.get("/jobs/{job_id}/results", response_model=ResultPage, responses=errors(404, 409, 422))
async def get_results(
    job_id: str,
    limit: int = limit_query(1000, MAX_RESULTS, "results"),
    after: int = Query(0, ge=0, description="return results with seq greater than this"),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    full = await engine.jobs.resolve(job_id)
    size = page_size(limit, MAX_RESULTS)
    results, total = await engine.jobs.reads.results_after(full, after, size)
    next_cursor = results[-1]["seq"] if len(results) == size else None
    return {"results": results, "total": total, "next_cursor": next_cursor}


@router.get(
    "/jobs/{job_id}/results/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "every result, one JSON document a line (ndjson) or as CSV",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        },
        **errors(404, 409, 422),
    },
)
async def export_results(
    job_id: str,
    format: ExportFormat = ExportFormat.NDJSON,
    engine: Engine = Depends(get_engine),
) -> StreamingResponse:
    full = await engine.jobs.resolve(job_id)
    reads = engine.jobs.reads
    if format is ExportFormat.CSV:
        body, media = reads.export_csv(full), "text/csv; charset=utf-8"
    else:
        body, media = reads.export_ndjson(full), "application/x-ndjson"
    filename = f"{full[:8]}-results.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type=media, headers=headers)
