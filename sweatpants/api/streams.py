"""Helpers shared by the WebSocket routes."""

from __future__ import annotations

import asyncio

from starlette.websockets import WebSocket, WebSocketDisconnect

from sweatpants.errors import SweatpantsError


async def wait_or_disconnect(
    websocket: WebSocket, listener: asyncio.Task[object], event: asyncio.Event, timeout: float
) -> bool:
    """Wait for `event`, at most `timeout` s; raise WebSocketDisconnect if the client left."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait(
            {waiter, listener}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        waiter.cancel()
    if listener in done:
        raise WebSocketDisconnect(code=1000)
    return waiter in done


def listen_for_close(websocket: WebSocket) -> asyncio.Task[object]:
    """A task that ends when the client disconnects (clients send nothing we act on)."""

    async def listen() -> object:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return message

    return asyncio.ensure_future(listen())


async def refuse(websocket: WebSocket, error: SweatpantsError) -> None:
    """Accept, say what is wrong in the usual error shape, close."""
    await websocket.accept()
    await websocket.send_json({"type": "error", **error.to_dict()})
    await websocket.close(code=4000 + error.status if error.status < 1000 else 1011)
