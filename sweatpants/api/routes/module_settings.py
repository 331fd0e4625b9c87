"""A module's stored settings: `GET` and `PUT /modules/{id}/settings`.

Thin: the engine (`engine.module_settings`) checks the body against the module's manifest,
seals secrets, stores, and answers with the settings as now stored, secrets masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from sweatpants.api.deps import get_engine
from sweatpants.api.openapi import errors
from sweatpants.api.schemas import ModuleSettings
from sweatpants.engine import Engine

router = APIRouter()

_BODY = Body(
    description=(
        'setting id → value, like `{"delay": 2, "token": "..."}`; keys not named are kept, '
        "`null` removes one, `********` for a secret keeps the stored secret"
    ),
    examples=[{"delay": 2, "user_agent": None}],
)


@router.get(
    "/modules/{module_id}/settings", response_model=ModuleSettings, responses=errors(404, 422)
)
async def get_module_settings(
    module_id: str, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    return {"module_id": module_id, "settings": await engine.module_settings.shown(module_id)}


@router.put(
    "/modules/{module_id}/settings",
    response_model=ModuleSettings,
    responses=errors(404, 415, 422),
)
async def put_module_settings(
    module_id: str, body: Any = _BODY, engine: Engine = Depends(get_engine)
) -> dict[str, Any]:
    settings = await engine.module_settings.update(module_id, body)
    engine.events.publish({"type": "modules", "action": "settings", "id": module_id})
    return {"module_id": module_id, "settings": settings}
