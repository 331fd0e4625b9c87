"""Modules: list, inspect, install (folder, git), uninstall, sync, reload.

Thin: validate the body, run the blocking work (copy, git, pip) in a worker thread, answer.
Every change also goes out on the event bus as `{"type": "modules", "action": ...}` so the
dashboard can refresh its list.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import (
    Module,
    ModuleList,
    ModuleSummary,
    ReloadReport,
    SyncReport,
    Uninstalled,
)
from sweatpants.engine import Engine
from sweatpants.errors import Conflict
from sweatpants.modules import (
    install_from_folder,
    install_from_git,
    sync_modules,
    uninstall,
)

router = APIRouter()

_AS_BUILT = TypeAdapter(dict[str, Any])


class InstallRequest(BaseModel):
    """POST /modules/install: a folder on this machine that holds a module.json."""

    model_config = ConfigDict(extra="ignore")

    source_path: str = Field(min_length=1, max_length=4096)


class GitInstallRequest(BaseModel):
    """POST /modules/install-git: a git URL and, optionally, the module's subfolder (or id)."""

    model_config = ConfigDict(extra="ignore")

    repo_url: str = Field(min_length=1, max_length=2048)
    module_name: str | None = Field(default=None, max_length=1024)
    branch: str | None = Field(default=None, max_length=200)


def _announce(engine: Engine, action: str, module_id: str | None = None) -> None:
    event: dict[str, Any] = {"type": "modules", "action": action}
    if module_id is not None:
        event["id"] = module_id
    engine.events.publish(event)


@router.get("/modules", response_model=ModuleList)
async def list_modules(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    return {"modules": [module.to_summary() for module in engine.modules.list()]}


@router.get("/modules/{module_id}", response_model=Module, responses=errors(404, 422))
async def get_module(module_id: str, engine: Engine = Depends(get_engine)) -> Response:
    # Sent as built rather than through `Module`, which would move the keys of module.json
    # that the engine does not know (listed first, in the author's order) to the end.
    body = _AS_BUILT.dump_json(engine.modules.get(module_id).to_dict())
    return Response(body, media_type="application/json")


@router.post("/modules/install", response_model=ModuleSummary, responses=errors(415, 422, 503))
async def install_module(
    request: InstallRequest, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    module = await run_in_threadpool(install_from_folder, engine.modules, request.source_path)
    _announce(engine, "installed", module.id)
    return module.to_summary()


@router.post("/modules/install-git", response_model=ModuleSummary, responses=errors(415, 422, 503))
async def install_module_from_git(
    request: GitInstallRequest, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    module = await run_in_threadpool(
        lambda: install_from_git(
            engine.modules, request.repo_url, request.module_name, branch=request.branch
        )
    )
    _announce(engine, "installed", module.id)
    return module.to_summary()


@router.delete("/modules/{module_id}", response_model=Uninstalled, responses=errors(404, 409, 422))
async def uninstall_module(module_id: str, engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    engine.modules.get(module_id)  # 422 for a malformed id, 404 when not installed
    if module_id in engine.jobs.active_module_ids():
        raise Conflict(
            f"module {module_id!r} has pending or running jobs; stop them first",
            field="module_id",
        )
    answer = await run_in_threadpool(uninstall, engine.modules, module_id)
    _announce(engine, "uninstalled", module_id)
    return answer


@router.post("/modules/sync", response_model=SyncReport, responses=errors(503))
async def sync(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    report = await run_in_threadpool(sync_modules, engine.modules)
    _announce(engine, "synced")
    return report.to_dict()


@router.post("/modules/reload", response_model=ReloadReport, responses=errors(503))
async def reload(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    report = await run_in_threadpool(engine.modules.reload)
    _announce(engine, "reloaded")
    return report.to_dict()
