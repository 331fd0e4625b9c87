"""GET /status: is the engine up, for how long, what is running, and is there disk space."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from sweatpants.api.deps import get_engine
from sweatpants.api.schemas import Status
from sweatpants.engine import Engine
from sweatpants.jobs.models import human_duration
from sweatpants.version import __version__

router = APIRouter()


# `Status` describes the answer in /openapi.json; returning a ready JSONResponse skips
# validating it against the model on every request (see benchmarks/status_load.py).
@router.get("/status", response_model=Status, response_class=JSONResponse)
async def status(engine: Engine = Depends(get_engine)) -> JSONResponse:
    """Answered from memory and one statvfs (no database read): every client polls it."""
    uptime = time.time() - engine.started_at
    body: dict[str, Any] = {
        "status": "running",
        "engine": "sweatpants",
        "version": __version__,
        "uptime": human_duration(uptime),
        "uptime_seconds": round(uptime, 3),
        "module_count": engine.modules.count(),
        "jobs": engine.jobs.running(),
        "counts": engine.jobs.counts(),
        "executor": engine.executors.default,
        "max_running_jobs": engine.settings.max_running_jobs,
        "disk": engine.jobs.disk(),
    }
    for name, provider in engine.status_providers.items():
        body[name] = provider()
    return JSONResponse(body)
