"""Modules: list, inspect, install (folder, git), uninstall, sync, reload, environments.

Thin: validate the body, run the blocking work (copy, git, uv) in a worker thread, answer.
Every change also goes out on the event bus as `{"type": "modules", "action": ...}` so the
dashboard can refresh its list. What the resolver and installer print while a module's
environment is built goes out as `{"type": "module_install", "install_id", "line"}` events,
and, with `?stream=true`, as the NDJSON lines of the answer itself (`install_stream`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from starlette.concurrency import run_in_threadpool

from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import (
    EnvRebuilt,
    Module,
    ModuleList,
    ModuleSummary,
    ReloadReport,
    SyncReport,
    Uninstalled,
)
from sweatpants.engine import Engine
from sweatpants.errors import Conflict, SweatpantsError
from sweatpants.modules import (
    InstalledModule,
    install_from_folder,
    install_from_git,
    sync_modules,
    uninstall,
)
from sweatpants.modules.process import OutputLine

log = logging.getLogger(__name__)

router = APIRouter()

STREAM = Query(
    False,
    description="answer NDJSON lines as the install goes: `start`, a `log` per line the "
    "resolver/installer prints, then `done` (with the module) or `error` (with the error's "
    "status, detail and code). The HTTP status is 200 once streaming has begun: read the last line.",
)

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


def _env_of(engine: Engine, module: InstalledModule) -> dict[str, Any] | None:
    """The module's environment as `GET /modules/{id}` shows it (walks its folder: blocking)."""
    if module.deps_path is None or not (module.deps_path / "pyvenv.cfg").is_file():
        return None
    return engine.modules.envs.describe(module.deps_path)


@router.get("/modules/{module_id}", response_model=Module, responses=errors(404, 422))
async def get_module(module_id: str, engine: Engine = Depends(get_engine)) -> Response:
    module = engine.modules.get(module_id)
    details = module.to_dict()
    details["env"] = await run_in_threadpool(_env_of, engine, module)
    # Sent as built rather than through `Module`, which would move the keys of module.json
    # that the engine does not know (listed first, in the author's order) to the end.
    return Response(_AS_BUILT.dump_json(details), media_type="application/json")


Work = Callable[[OutputLine], dict[str, Any]]


async def _run_install(engine: Engine, work: Work, stream: bool, action: str) -> Any:
    """Run `work` in a worker thread, publishing each line it prints as a `module_install`
    event; answer its result, or (`stream`) NDJSON lines as it goes. A streamed install that
    ends before printing anything (a wrong path, a module without requirements) answers like
    an unstreamed one when it fails: its own 4xx, never an error at 200."""
    loop = asyncio.get_running_loop()
    install_id = secrets.token_hex(6)
    lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def emit(line: str) -> None:  # on the event loop
        engine.events.publish({"type": "module_install", "install_id": install_id, "line": line})
        if stream:
            lines.put_nowait({"type": "log", "line": line})

    def on_line(line: str) -> None:  # in the worker thread
        loop.call_soon_threadsafe(emit, line)

    def announced(answer: dict[str, Any]) -> dict[str, Any]:
        _announce(engine, action, answer.get("id"))
        return answer

    if not stream:
        return announced(await run_in_threadpool(work, on_line))

    # Goes on if the client leaves (nothing half-done), and is announced when it succeeds.
    working = asyncio.ensure_future(run_in_threadpool(work, on_line))
    working.add_done_callback(
        lambda done: None if done.cancelled() or done.exception() else announced(done.result())
    )
    first = asyncio.ensure_future(lines.get())
    await asyncio.wait({working, first}, return_when=asyncio.FIRST_COMPLETED)
    if not first.done():
        first.cancel()
        working.result()  # raises the error: the one handler answers with its status
    pending = [first.result()] if first.done() and not first.cancelled() else []

    async def body() -> AsyncIterator[bytes]:
        yield _ndjson({"type": "start", "install_id": install_id})
        for item in pending:
            yield _ndjson(item)
        for _ in range(10_000_000):  # bounded: one turn per line printed
            getter = asyncio.ensure_future(lines.get())
            await asyncio.wait({getter, working}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield _ndjson(getter.result())
                continue
            getter.cancel()
            break
        while not lines.empty():  # lines emitted before the work's end was seen
            yield _ndjson(lines.get_nowait())
        yield _ndjson(_outcome(working, install_id))

    return StreamingResponse(body(), media_type="application/x-ndjson")


def _outcome(working: asyncio.Future[dict[str, Any]], install_id: str) -> dict[str, Any]:
    """The last line of a streamed install: `done` with the answer, or `error`."""
    error = working.exception()
    if error is None:
        return {"type": "done", "module": working.result()}
    if isinstance(error, SweatpantsError):
        return {"type": "error", "status": error.status, **error.to_dict()}
    log.error("install %s failed", install_id, exc_info=error)
    return {"type": "error", "status": 500, "error": "internal_error", "detail": str(error)}


def _ndjson(item: dict[str, Any]) -> bytes:
    return json.dumps(item, ensure_ascii=False).encode() + b"\n"


@router.post("/modules/install", response_model=ModuleSummary, responses=errors(415, 422, 503))
async def install_module(
    request: InstallRequest, stream: bool = STREAM, engine: Engine = Depends(get_engine)
) -> Any:
    def work(on_line: OutputLine) -> dict[str, Any]:
        return install_from_folder(
            engine.modules, request.source_path, on_line=on_line
        ).to_summary()

    return await _run_install(engine, work, stream, "installed")


@router.post("/modules/install-git", response_model=ModuleSummary, responses=errors(415, 422, 503))
async def install_module_from_git(
    request: GitInstallRequest, stream: bool = STREAM, engine: Engine = Depends(get_engine)
) -> Any:
    def work(on_line: OutputLine) -> dict[str, Any]:
        module = install_from_git(
            engine.modules,
            request.repo_url,
            request.module_name,
            branch=request.branch,
            on_line=on_line,
        )
        return module.to_summary()

    return await _run_install(engine, work, stream, "installed")


@router.post(
    "/modules/{module_id}/env/rebuild",
    response_model=EnvRebuilt,
    responses=errors(404, 409, 422, 503),
)
async def rebuild_env(
    module_id: str, stream: bool = STREAM, engine: Engine = Depends(get_engine)
) -> Any:
    """Build the module's environment again from its requirements.txt (a fresh resolve);
    the environment it had keeps serving running jobs until they end."""
    module = engine.modules.get(module_id)
    if engine.modules.environment_request(module.manifest, module.path) is None:
        raise Conflict(
            f"module {module_id!r} has no requirements.txt: it runs on the daemon's own "
            "packages and has no environment to rebuild",
            field="module_id",
        )

    def work(on_line: OutputLine) -> dict[str, Any]:
        with engine.modules.install_lock:
            path = engine.modules.ensure_requirements(
                module.manifest, module.path, on_line=on_line, rebuild=True
            )
            engine.modules.invalidate()
        rebuilt = engine.modules.get(module_id)
        assert path is not None
        return {"id": module_id, "env": _env_of(engine, rebuilt)}

    return await _run_install(engine, work, stream, "env_rebuilt")


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
    def work(on_line: OutputLine) -> dict[str, Any]:
        return sync_modules(engine.modules, on_line=on_line).to_dict()

    answer: dict[str, Any] = await _run_install(engine, work, False, "synced")
    return answer


@router.post("/modules/reload", response_model=ReloadReport, responses=errors(503))
async def reload(engine: Engine = Depends(get_engine)) -> dict[str, Any]:
    def work(on_line: OutputLine) -> dict[str, Any]:
        return engine.modules.reload(on_line=on_line).to_dict()

    answer: dict[str, Any] = await _run_install(engine, work, False, "reloaded")
    return answer
