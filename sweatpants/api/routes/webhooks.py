"""Webhooks (`/webhooks`) and the delivery queue (`/deliveries`): thin over `engine.webhooks`.

`POST /deliveries` is how a job's `send_callback` queues a signed callback (sdk/outbox.py);
`GET /deliveries/{id}?wait=S` answers once it is delivered or failed, or after S seconds.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from sweatpants.api.deps import get_engine
from sweatpants.api.housekeeping_schemas import (
    Delivery,
    DeliveryPage,
    Webhook,
    WebhookDeleted,
    WebhookList,
)
from sweatpants.api.openapi import errors
from sweatpants.engine import Engine

router = APIRouter()
MAX_DELIVERIES = 1000


class WebhookRequest(BaseModel):
    """POST /webhooks, PATCH /webhooks/{id}. Values are checked by the engine, which names a
    wrong one (url: http:// or https://; events: names from the list in docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    url: Any = None
    events: Any = None
    module_id: Any = None
    secret: Any = None
    enabled: Any = None


class CallbackRequest(BaseModel):
    """POST /deliveries: a signed callback to queue (what `send_callback` sends)."""

    model_config = ConfigDict(extra="forbid")

    url: Any = None
    payload: Any = None
    secret: Any = None
    user_id: Any = None
    issuer: Any = None
    job_id: Any = None


def _wait_query(default: float) -> Any:
    return Query(default, ge=0, le=300, description="seconds to wait for the outcome (max 300)")


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return {"webhooks": engine.webhooks.listed()}


@router.post("/webhooks", response_model=Webhook, responses=errors(415, 422))
async def add_webhook(request: WebhookRequest, engine: Engine = Depends(get_engine)) -> Any:
    return await engine.webhooks.add(request.model_dump(exclude_unset=True))


@router.get("/webhooks/{webhook_id}", response_model=Webhook, responses=errors(404))
async def get_webhook(webhook_id: str, engine: Engine = Depends(get_engine)) -> Any:
    return engine.webhooks.get(webhook_id)


@router.patch(
    "/webhooks/{webhook_id}", response_model=Webhook, responses=errors(404, 409, 415, 422)
)
async def change_webhook(
    webhook_id: str, request: WebhookRequest, engine: Engine = Depends(get_engine)
) -> Any:
    return await engine.webhooks.change(webhook_id, request.model_dump(exclude_unset=True))


@router.delete("/webhooks/{webhook_id}", response_model=WebhookDeleted, responses=errors(404, 409))
async def delete_webhook(webhook_id: str, engine: Engine = Depends(get_engine)) -> Any:
    return await engine.webhooks.remove(webhook_id)


@router.get(
    "/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage, responses=errors(404, 422)
)
async def webhook_deliveries(
    webhook_id: str,
    limit: int = Query(100, ge=1, le=MAX_DELIVERIES),
    before: str | None = Query(None, description="id of the last delivery of the previous page"),
    engine: Engine = Depends(get_engine),
) -> Any:
    return await engine.webhooks.deliveries(webhook_id=webhook_id, before=before, limit=limit)


@router.post("/webhooks/{webhook_id}/test", response_model=Delivery, responses=errors(404))
async def test_webhook(
    webhook_id: str, wait: float = _wait_query(15), engine: Engine = Depends(get_engine)
) -> Any:
    """Send a `webhook.test` delivery now; answers its outcome (or `pending` after `wait`)."""
    return await engine.webhooks.test(webhook_id, wait)


@router.post("/deliveries", response_model=Delivery, responses=errors(415, 422))
async def queue_callback(request: CallbackRequest, engine: Engine = Depends(get_engine)) -> Any:
    return await engine.webhooks.send_callback(request.model_dump(exclude_unset=True))


@router.get("/deliveries", response_model=DeliveryPage, responses=errors(422))
async def list_deliveries(
    job_id: str | None = None,
    limit: int = Query(100, ge=1, le=MAX_DELIVERIES),
    before: str | None = Query(None, description="id of the last delivery of the previous page"),
    engine: Engine = Depends(get_engine),
) -> Any:
    return await engine.webhooks.deliveries(job_id=job_id, before=before, limit=limit)


@router.get("/deliveries/{delivery_id}", response_model=Delivery, responses=errors(404, 422))
async def get_delivery(
    delivery_id: str, wait: float = _wait_query(0), engine: Engine = Depends(get_engine)
) -> Any:
    return await engine.webhooks.delivery(delivery_id, wait)
