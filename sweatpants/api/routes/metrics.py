"""GET /metrics: the daemon's metrics in the Prometheus text format (see sweatpants/metrics.py).

Behind the same token rule as the rest of the API: a scraper sends the bearer token (see
docs/metrics.md for a scrape config).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from sweatpants.api.deps import get_engine
from sweatpants.engine import Engine
from sweatpants.metrics import CONTENT_TYPE, Snapshot

router = APIRouter()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"}},
)
async def metrics(engine: Engine = Depends(get_engine)) -> Response:
    """Jobs by status and module, results and log lines stored, the queue, job start and run
    times, the writer's batches and commits, the browser pool's leases and crashes."""
    snapshot = Snapshot(
        job_counts=await engine.jobs.reads.counts_by_module(),
        queue_depth=engine.jobs.queue_depth(),
        browser=engine.capabilities.browser_status(),
    )
    return Response(engine.metrics.render(snapshot), media_type=CONTENT_TYPE)
