"""WS /events: every job state change and (throttled) progress, for live dashboards."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from sweatpants.api.deps import engine_of
from sweatpants.api.streams import listen_for_close
from sweatpants.engine import Engine

router = APIRouter()


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    engine: Engine = engine_of(websocket)
    await websocket.accept()
    queue = engine.events.subscribe()
    listener = listen_for_close(websocket)
    ping = engine.settings.ws_ping_seconds
    try:
        await websocket.send_json({"type": "hello"})
        while True:
            getter = asyncio.ensure_future(queue.get())
            done, _ = await asyncio.wait(
                {getter, listener}, timeout=ping, return_when=asyncio.FIRST_COMPLETED
            )
            if listener in done:
                getter.cancel()
                return
            if getter not in done:
                getter.cancel()
                await websocket.send_json({"type": "ping"})
                continue
            event = getter.result()
            if event is None:  # the bus dropped us (too slow, or shutting down)
                await websocket.close(code=1013)
                return
            await websocket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        listener.cancel()
        engine.events.unsubscribe(queue)
