"""Answer models of retention and webhooks (issue 15): what /openapi.json says they return.

Kept beside `schemas.py` rather than in it: one group of endpoints, one small file. Each model
lists its fields in the order the engine builds them (see `jobs/retention.py`,
`webhooks/service.py`, `webhooks/delivery.py`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class JobDeleted(BaseModel):
    """`DELETE /jobs/{id}`."""

    status: Literal["deleted"]
    id: str
    results: int = Field(description="results the job had")
    logs: int = Field(description="log lines the job had")
    purged: bool = Field(
        description="its rows are gone from the database (false: still being removed in "
        "the background after 30 s)"
    )


class PruneReport(BaseModel):
    """`POST /jobs/prune`: what it removed."""

    removed: int = Field(description="how many jobs")
    ids: list[str]
    results: int
    logs: int
    purged: bool


class DatabaseState(BaseModel):
    """The database file in `/status` (sizes from two stat calls)."""

    path: str
    size_bytes: int = Field(description="the database file plus its write-ahead log")
    file_bytes: int
    wal_bytes: int
    free_bytes: int = Field(description="pages inside the file that new rows will reuse")
    auto_vacuum: str = Field(description="`incremental`: deleting gives space back to the disk")
    purging_jobs: int = Field(description="deleted jobs whose rows are still being removed")


class Webhook(BaseModel):
    """A receiver of job events; its secret is never shown."""

    id: str
    url: str
    events: list[str]
    module_id: str | None
    enabled: bool
    has_secret: bool
    source: Literal["api", "environment"]
    created_at: str | None
    updated_at: str | None


class WebhookList(BaseModel):
    webhooks: list[Webhook]


class WebhookDeleted(BaseModel):
    status: Literal["deleted"]
    id: str


class Delivery(BaseModel):
    """One request of the delivery queue, as the delivery log shows it."""

    id: str
    kind: Literal["webhook", "callback"]
    webhook_id: str | None
    event: str
    job_id: str | None
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: str | None = Field(description="when it is tried again (pending only)")
    created_at: str | None
    last_attempt_at: str | None
    response_code: int | None
    duration_ms: float | None
    error: str | None
    delivered_at: str | None


class DeliveryPage(BaseModel):
    deliveries: list[Delivery]
    next_cursor: str | None
