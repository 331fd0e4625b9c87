"""The callbacks inbox, with the earlier engine's shapes: POST, list, read, delete; and the
WebSocket a waiting job uses (`WS /callbacks/wait`, see sweatpants/inbox.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect

from sweatpants.api.deps import engine_of, get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.streams import listen_for_close, refuse
from sweatpants.engine import Engine
from sweatpants.errors import InvalidInput
from sweatpants.inbox import MAX_PAGE

router = APIRouter()

TEXT = 1_000  # the longest callback_id, source or status taken


class CallbackBody(BaseModel):
    """POST /callbacks. Every key optional; unknown keys are ignored, as the earlier engine did."""

    model_config = ConfigDict(extra="ignore")

    callback_id: str | None = Field(default=None, max_length=TEXT)
    source: str | None = Field(default=None, max_length=TEXT)
    status: str | None = Field(default=None, max_length=TEXT)
    # Checked by the inbox, so a wrong one gets a sentence that says what it should be.
    payload: Any = Field(default=None, description="a JSON object (default {})")


class CallbackReceived(BaseModel):
    id: str
    received: bool


class CallbackItem(BaseModel):
    id: str
    callback_id: str | None
    source: str | None
    status: str | None
    payload: dict[str, Any]
    received_at: str


class CallbackList(BaseModel):
    callbacks: list[CallbackItem]
    next_cursor: str | None = Field(
        description="the id to pass as `before` for the next page; null on the last page"
    )


class CallbackDeleted(BaseModel):
    status: str
    id: str


def _filter(value: str | None) -> str | None:
    """An empty `?source=` means no filter: the earlier engine's CLI sends the empty ones."""
    return value or None


@router.post("/callbacks", response_model=CallbackReceived, responses=errors(422))
async def receive_callback(
    body: CallbackBody, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    callback = await engine.callbacks.receive(
        callback_id=body.callback_id, source=body.source, status=body.status, payload=body.payload
    )
    return {"id": callback.id, "received": True}


@router.get("/callbacks", response_model=CallbackList, responses=errors(404, 409, 422))
async def list_callbacks(
    source: str | None = Query(None, description="only callbacks from this source"),
    callback_id: str | None = Query(None, description="only callbacks with this callback_id"),
    limit: int = Query(
        100,
        ge=1,
        description=f"how many, newest first; at most {MAX_PAGE:,} come in one answer, a "
        "larger limit gets the first ones and `next_cursor` for the rest",
    ),
    before: str | None = Query(None, description="id of the last callback of the previous page"),
    engine: Engine = Depends(get_engine),
) -> dict[str, Any]:
    page = await engine.callbacks.page(
        source=_filter(source), callback_id=_filter(callback_id), limit=limit, before=before
    )
    full = len(page) == min(limit, MAX_PAGE)
    return {
        "callbacks": [callback.to_api() for callback in page],
        "next_cursor": page[-1].id if page and full else None,
    }


@router.websocket("/callbacks/wait")
async def wait_for_callback(websocket: WebSocket, callback_id: str = "") -> None:
    """`{"type": "callback", "callback": {...}}` once one with `callback_id` is stored (at once
    if it already is), then close; `{"type": "ping"}` meanwhile."""
    engine: Engine = engine_of(websocket)
    if not 0 < len(callback_id) <= TEXT:
        await refuse(
            websocket,
            InvalidInput(f"callback_id must be 1 to {TEXT} characters", field="callback_id"),
        )
        return
    await websocket.accept()
    listener = listen_for_close(websocket)
    waiter = asyncio.ensure_future(engine.callbacks.wait(callback_id))
    try:
        while True:
            done, _ = await asyncio.wait(
                {waiter, listener},
                timeout=engine.settings.ws_ping_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
            if listener in done:
                return
            if waiter in done:
                callback = waiter.result()
                assert callback is not None  # no timeout: it waits until one arrives
                await websocket.send_json({"type": "callback", "callback": callback.to_api()})
                await websocket.close()
                return
            await websocket.send_json({"type": "ping"})
    except (WebSocketDisconnect, RuntimeError):
        return  # the job went away
    finally:
        waiter.cancel()
        listener.cancel()


@router.get("/callbacks/{callback_id}", response_model=CallbackItem, responses=errors(404, 409))
async def get_callback(callback_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return (await engine.callbacks.find(callback_id)).to_api()


@router.delete(
    "/callbacks/{callback_id}", response_model=CallbackDeleted, responses=errors(404, 409)
)
async def delete_callback(callback_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return {"status": "deleted", "id": await engine.callbacks.delete(callback_id)}
