"""Job logs: a page of entries, and a live WebSocket stream that misses nothing."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, WebSocket
from starlette.websockets import WebSocketDisconnect

from sweatpants.api.deps import engine_of, get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import LogPage
from sweatpants.api.streams import listen_for_close, refuse, wait_or_disconnect
from sweatpants.engine import Engine
from sweatpants.errors import SweatpantsError
from sweatpants.jobs.models import JobStatus, iso
from sweatpants.store import jobs as job_sql
from sweatpants.store import logs as log_sql

router = APIRouter()

STREAM_BATCH = 500


def _entry(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "timestamp": iso(row["ts"]),
        "level": row["level"],
        "message": row["message"],
    }


@router.get("/jobs/{job_id}/logs", response_model=LogPage, responses=errors(404, 409, 422))
async def get_logs(
    job_id: str,
    limit: int = Query(100, ge=1, le=10000),
    after: int | None = Query(None, ge=0, description="return entries after this log id"),
    level: str | None = Query(None, max_length=20),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    full = await engine.jobs.resolve(job_id)
    wanted = level.upper() if level else None
    if after is None:
        rows = await engine.store.read(lambda c: log_sql.tail(c, full, limit, wanted))
    else:
        rows = await engine.store.read(lambda c: log_sql.after(c, full, after, limit, wanted))
    logs = [_entry(row) for row in rows]
    return {"logs": logs, "next_cursor": logs[-1]["id"] if logs else after}


@router.websocket("/jobs/{job_id}/logs/stream")
async def stream_logs(websocket: WebSocket, job_id: str, after: int = 0) -> None:
    engine: Engine = engine_of(websocket)
    try:
        full = await engine.jobs.resolve(job_id)
    except SweatpantsError as error:
        await refuse(websocket, error)
        return
    await websocket.accept()
    listener = listen_for_close(websocket)
    try:
        await _pump(websocket, engine, full, after, listener)
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away
    finally:
        listener.cancel()


async def _pump(
    websocket: WebSocket, engine: Engine, job_id: str, cursor: int, listener: asyncio.Task[object]
) -> None:
    ping = engine.settings.ws_ping_seconds
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + ping
    while True:
        woken = engine.commits.waiter(job_id)
        rows = await engine.store.read(
            partial(log_sql.after, job_id=job_id, after_id=cursor, limit=STREAM_BATCH)
        )
        if rows:
            for row in rows:
                await websocket.send_json({"type": "log", **_entry(row)})
            cursor = rows[-1]["id"]
            continue
        job = await engine.store.read(lambda c: job_sql.get(c, job_id))
        if job is None or JobStatus(job["status"]).is_final:
            late = await engine.store.read(
                partial(log_sql.after, job_id=job_id, after_id=cursor, limit=1)
            )
            if late:
                continue  # entries committed between the two reads: send them first
            end = {"type": "end", "status": job["status"] if job else "unknown"}
            end["error"] = job["error"] if job else None
            await websocket.send_json(end)
            await websocket.close()
            return
        if not await wait_or_disconnect(
            websocket, listener, woken, max(0.0, next_ping - loop.time())
        ):
            await websocket.send_json({"type": "ping"})
            next_ping = loop.time() + ping
