"""`GET /schema/module.json`: the JSON Schema of module.json, for editors and tools.

Public like /openapi.json (the security guard lets it through without a token): it is a
file shipped in the package and says nothing about this daemon or its data, and an editor
that fetches it to validate module.json has no way to send a token.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from sweatpants.modules.schema import schema_text

router = APIRouter(tags=["modules"])

MEDIA_TYPE = "application/schema+json"


@router.get(
    "/schema/module.json",
    summary="The JSON Schema of module.json",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {"schema": {"type": "object"}}}}},
)
def module_schema() -> Response:
    """What `sweatpants module check` validates module.json against. Point an editor at it
    (`"$schema": "http://127.0.0.1:8420/schema/module.json"`) to validate and complete."""
    return Response(schema_text(), media_type=MEDIA_TYPE)
