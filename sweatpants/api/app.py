"""The app factory: one FastAPI app around one Engine, with the security guard and routes."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sweatpants.api.errors import install_error_handlers
from sweatpants.api.openapi import COMMON_ERRORS, SweatpantsAPI, errors
from sweatpants.api.routes import (
    activity,
    callbacks,
    docs,
    events,
    jobs,
    logs,
    metrics,
    module_settings,
    modules,
    proxy,
    results,
    retention,
    schedules,
    schema,
    status,
    ui,
    webhooks,
)
from sweatpants.api.security import SecurityMiddleware
from sweatpants.config import Settings
from sweatpants.engine import Engine
from sweatpants.mcp.http import route as mcp_route
from sweatpants.version import __version__


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    engine = engine if engine is not None else Engine(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        write_daemon_file(settings)
        try:
            yield
        finally:
            remove_daemon_file(settings)
            await engine.stop()

    app = SweatpantsAPI(
        title="Sweatpants",
        version=__version__,
        description="The Sweatpants automation engine's REST + WebSocket API.",
        lifespan=lifespan,
        docs_url=None,  # routes/docs.py serves /docs and /redoc from local files
        redoc_url=None,
        responses=errors(*COMMON_ERRORS),
    )
    app.state.engine = engine
    install_error_handlers(app)
    for module in (status, modules, module_settings, jobs, logs, results, events, proxy, ui, docs):
        app.include_router(module.router)
    app.include_router(activity.router)  # the charts' numbers: a job's timeline, jobs per day
    app.include_router(schema.router)  # GET /schema/module.json (public, like /openapi.json)
    app.router.routes.append(mcp_route(settings))  # /mcp: MCP over streamable HTTP
    app.include_router(retention.router)  # DELETE /jobs/{id}, POST /jobs/prune
    app.include_router(webhooks.router)  # /webhooks, /deliveries
    app.include_router(metrics.router)  # GET /metrics (Prometheus text format)
    app.include_router(schedules.router)  # /schedules (issue 14)
    app.include_router(callbacks.router)  # the earlier engine's inbox (issue 15)
    ui.mount_ui(app)
    docs.mount_docs_assets(app)
    app.add_middleware(SecurityMiddleware, settings=settings)
    return app


def write_daemon_file(settings: Settings) -> None:
    """Tell the CLI and the tray where this daemon is (and its token), readable by the user only."""
    path = settings.daemon_file
    record = {
        "url": settings.base_url,
        "pid": os.getpid(),
        "version": __version__,
        "token": settings.api_auth_token or None,
    }
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(record, handle)
    os.replace(temporary, path)


def remove_daemon_file(settings: Settings) -> None:
    try:
        record = json.loads(settings.daemon_file.read_text())
        if record.get("pid") == os.getpid():
            settings.daemon_file.unlink()
    except (OSError, ValueError):
        pass
