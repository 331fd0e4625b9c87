"""Job logs: a page of entries, and a live WebSocket stream that misses nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, WebSocket
from starlette.websockets import WebSocketDisconnect

from sweatpants.api.deps import engine_of, get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.paging import MAX_LOGS, limit_query, page_size
from sweatpants.api.schemas import LogPage
from sweatpants.api.streams import listen_for_close, refuse, wait_or_disconnect
from sweatpants.engine import Engine
from sweatpants.errors import SweatpantsError

router = APIRouter()

STREAM_BATCH = 500


@router.get("/jobs/{job_id}/logs", response_model=LogPage, responses=errors(404, 409, 422))
async def get_logs(
    job_id: str,
    limit: int = limit_query(100, MAX_LOGS, "entries"),
    after: int | None = Query(None, ge=0, description="return entries after this log id"),
    level: str | None = Query(None, max_length=20),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    full = await engine.jobs.resolve(job_id)
    wanted = level.upper() if level else None
    reads = engine.jobs.reads
    size = page_size(limit, MAX_LOGS)
    if after is None:  # the newest `limit` entries; past the cap, the first page of those
        logs = await reads.log_tail(full, limit, wanted, page=size)
    else:
        logs = await reads.logs_after(full, after, size, wanted)
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
        await _send_logs(websocket, engine, full, after, listener)
    except (WebSocketDisconnect, RuntimeError):
        return  # the client went away
    finally:
        listener.cancel()


async def _send_logs(
    websocket: WebSocket, engine: Engine, job_id: str, cursor: int, listener: asyncio.Task[object]
) -> None:
    """Entries after `cursor` as they are committed, then `end` once the job has ended."""
    reads = engine.jobs.reads
    ping = engine.settings.ws_ping_seconds
    loop = asyncio.get_running_loop()
    next_ping = loop.time() + ping
    while True:
        woken = engine.commits.waiter(job_id)
        entries = await reads.logs_after(job_id, cursor, STREAM_BATCH)
        if entries:
            for entry in entries:
                await websocket.send_json({"type": "log", **entry})
            cursor = entries[-1]["id"]
            continue
        state = await reads.state(job_id)
        if state is None or state[0].is_final:
            if await reads.logs_after(job_id, cursor, 1):
                continue  # entries committed between the two reads: send them first
            end: dict[str, Any] = {"type": "end", "status": state[0].value if state else "unknown"}
            end["error"] = state[1] if state else None
            await websocket.send_json(end)
            await websocket.close()
            return
        if not await wait_or_disconnect(
            websocket, listener, woken, max(0.0, next_ping - loop.time())
        ):
            await websocket.send_json({"type": "ping"})
            next_ping = loop.time() + ping
