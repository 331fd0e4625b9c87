"""Capabilities over HTTP: `POST /proxy-fetch`, `GET /capabilities`, `WS /browser/lease`.

`/proxy-fetch` follows the seed contract (request fields and defaults, answer `success,
content, status_code, headers`) and adds `encoding`, `error`, `detail` and `proxy`. A network
failure is an answer with `success: false`, not an HTTP error; a bad request is a 422 naming
the field. `/browser/lease` is for job processes (see `sweatpants.sdk.lease`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection

from sweatpants.api.deps import engine_of
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import CapabilitiesState, ProxyFetchAnswer
from sweatpants.capabilities.fetch import (
    FetchRequest,
    fetch,
    validate_method,
    validate_timeout,
    validate_url,
)
from sweatpants.capabilities.service import Capabilities
from sweatpants.errors import InvalidInput, SweatpantsError

router = APIRouter()


def get_capabilities(connection: HTTPConnection) -> Capabilities:
    return engine_of(connection).capabilities


class ProxyFetchBody(BaseModel):
    method: str = "GET"
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | dict[str, Any] | list[Any] | None = None
    body_encoding: Literal["text", "base64"] = "text"
    browser_mode: bool = False
    timeout: float = 60
    session_id: str | None = Field(default=None, max_length=200)
    geo: str | None = Field(default=None, max_length=64)


def to_request(body: ProxyFetchBody) -> FetchRequest:
    raw: bytes | None = None
    json_body: Any = None
    if isinstance(body.body, str):
        if body.body_encoding == "base64":
            try:
                raw = base64.b64decode(body.body, validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput("body is not valid base64", field="body") from None
        else:
            raw = body.body.encode()
    elif body.body is not None:
        json_body = body.body
    return FetchRequest(
        url=validate_url(body.url),
        method=validate_method(body.method),
        headers=body.headers,
        body=raw,
        json_body=json_body,
        browser_mode=body.browser_mode,
        timeout=validate_timeout(body.timeout),
        session_id=body.session_id or None,
        geo=body.geo or None,
    )


@router.post(
    "/proxy-fetch",
    response_model=ProxyFetchAnswer,
    response_model_exclude_unset=True,  # `detail` comes with failures, `url` with successes
    responses=errors(415, 422),
)
async def proxy_fetch(
    body: ProxyFetchBody, capabilities: Capabilities = Depends(get_capabilities)
) -> dict[str, Any]:
    return await fetch(capabilities.proxy, to_request(body))


@router.get("/capabilities", response_model=CapabilitiesState)
async def describe(capabilities: Capabilities = Depends(get_capabilities)) -> dict[str, Any]:
    return capabilities.describe()


@router.websocket("/browser/lease")
async def browser_lease(websocket: WebSocket) -> None:
    capabilities = get_capabilities(websocket)
    job_id = websocket.query_params.get("job_id", "")[:100]
    await websocket.accept()
    try:
        async with capabilities.pool.lease(job_id) as lease:
            await websocket.send_json({"type": "lease", **lease.public()})
            gone = asyncio.ensure_future(_until_disconnect(websocket))
            died = asyncio.ensure_future(lease.died.wait())
            try:
                await asyncio.wait({gone, died}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                died.cancel()
            if lease.died.is_set():
                with contextlib.suppress(Exception):
                    await websocket.send_json({"type": "browser_died", "detail": lease.reason})
                    await websocket.close()
    except SweatpantsError as error:
        with contextlib.suppress(Exception):
            await websocket.send_json({"type": "error", **error.to_dict()})
            await websocket.close()
    except WebSocketDisconnect:
        pass


async def _until_disconnect(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
