"""What /openapi.json says beyond the routes' own models: the error shape and the token.

Declarations only: the security middleware (`sweatpants.api.security`) enforces the token
and the error handler (`sweatpants.api.errors`) renders the errors. The bearer scheme is
written into the schema rather than added as a route dependency, so that it costs nothing
per request and never makes a token required when none is configured.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from sweatpants.api.schemas import Error

BEARER_SCHEME = "BearerToken"

_ERRORS = {
    401: "a token is configured (SWEATPANTS_API_AUTH_TOKEN, SWEATPANTS_API_SIGNED_TOKEN_SECRET) "
    "and the request carried no valid one; `detail` is the reason (`token expired`, ...)",
    403: "the request came for a foreign Host or from a foreign Origin, or its signed token "
    "lacks the scope the route needs (`token missing required scope: X`)",
    404: "the id names nothing (module, job)",
    409: "the request clashes with the current state (job already ended, module in use, "
    "ambiguous job id prefix: see `matches`)",
    415: "the request body is not declared as JSON",
    422: "a request value is wrong; `field` names it",
    500: "an internal error",
    503: "a capability the request needs is missing or down, or the daemon is stopping",
    507: "the disk is full (for a new job: below SWEATPANTS_MIN_FREE_MB); `detail` says where",
}

# What any route can answer: the security middleware, and the one handler (which answers
# 507 wherever a full disk surfaces, 500 for anything unexpected).
COMMON_ERRORS = (401, 403, 500, 507)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer these error statuses, all in the one shape."""
    return {code: {"model": Error, "description": _ERRORS[code]} for code in codes}


class SweatpantsAPI(FastAPI):
    """FastAPI whose schema also declares the optional bearer token."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is not None:
            return self.openapi_schema
        schema = super().openapi()  # built once, then cached in self.openapi_schema
        _use_one_error_shape(schema)
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes[BEARER_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "The value of SWEATPANTS_API_AUTH_TOKEN, or a signed user token (see "
                "docs/api.md). Needed only when the daemon is started with one; WebSockets "
                "and downloads may pass it as `?token=`."
            ),
        }
        # Either the token or nothing: the daemon's configuration decides which it needs.
        schema["security"] = [{BEARER_SCHEME: []}, {}]
        return schema


def _use_one_error_shape(schema: dict[str, Any]) -> None:
    """FastAPI documents its own 422 body on every route with parameters; ours is `Error`."""
    default = "#/components/schemas/HTTPValidationError"
    ours = {
        "description": _ERRORS[422],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            body = responses.get("422", {}).get("content", {}).get("application/json", {})
            if body.get("schema", {}).get("$ref") == default:
                responses["422"] = ours
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
