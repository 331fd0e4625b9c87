"""Job results: keyset pages, and streamed exports as NDJSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import ResultPage
from sweatpants.engine import Engine
from sweatpants.jobs.models import iso
from sweatpants.store import Store
from sweatpants.store import jobs as job_sql
from sweatpants.store import results as result_sql

router = APIRouter()

EXPORT_CHUNK = 2000


class ExportFormat(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


@router.get("/jobs/{job_id}/results", response_model=ResultPage, responses=errors(404, 409, 422))
async def get_results(
    job_id: str,
    limit: int = Query(1000, ge=1, le=10000),
    after: int = Query(0, ge=0, description="return results with seq greater than this"),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    full = await engine.jobs.resolve(job_id)

    def read(conn: Any) -> tuple[list[Any], int]:
        rows = result_sql.after(conn, full, after, limit)
        job = job_sql.get(conn, full)
        return rows, job["result_count"] if job is not None else 0

    rows, total = await engine.store.read(read)
    results = [
        {"seq": row["seq"], "data": json.loads(row["data"]), "created_at": iso(row["ts"])}
        for row in rows
    ]
    next_cursor = results[-1]["seq"] if len(results) == limit else None
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
    store = engine.store
    if format is ExportFormat.CSV:
        body, media = _csv_lines(store, full), "text/csv; charset=utf-8"
    else:
        body, media = _ndjson_lines(store, full), "application/x-ndjson"
    filename = f"{full[:8]}-results.{format.value}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body, media_type=media, headers=headers)


def _chunks(store: Store, job_id: str) -> Iterator[list[Any]]:
    """Each chunk is its own short query, on whichever worker thread asks for it."""
    last = 0
    while True:
        rows = result_sql.after(store.reader(), job_id, last, EXPORT_CHUNK)
        if not rows:
            return
        yield rows
        last = rows[-1]["seq"]


def _ndjson_lines(store: Store, job_id: str) -> Iterator[bytes]:
    for rows in _chunks(store, job_id):
        yield "".join(row["data"] + "\n" for row in rows).encode()


def _csv_lines(store: Store, job_id: str) -> Iterator[bytes]:
    """Columns are every key any result has, in order of first appearance (a first pass)."""
    columns: dict[str, None] = {}
    for rows in _chunks(store, job_id):
        for row in rows:
            data = json.loads(row["data"])
            columns.update(dict.fromkeys(data if isinstance(data, dict) else ["value"]))
    names = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(names)
    yield buffer.getvalue().encode()
    for rows in _chunks(store, job_id):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            data = json.loads(row["data"])
            if not isinstance(data, dict):
                data = {"value": data}
            writer.writerow([_cell(data.get(name)) for name in names])
        yield buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
