"""One handler renders every error as `{"detail", "error", "field"?}` with its real status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from sweatpants.engine import is_disk_full
from sweatpants.errors import InsufficientStorage, SweatpantsError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
}


def _field_of(location: tuple[Any, ...]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


async def _sweatpants_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SweatpantsError)
    return JSONResponse(exc.to_dict(), status_code=exc.status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for item in exc.errors():
        field = _field_of(tuple(item.get("loc", ())))
        message = str(item.get("msg", "is not valid"))
        if item.get("type") == "json_invalid":
            field, message = "body", "the request body is not valid JSON"
        elif item.get("type") == "extra_forbidden":
            message = "is not a key this endpoint takes (see /docs)"
        problems.append({"field": field, "message": message})
    first = problems[0] if problems else {"field": "body", "message": "is not valid"}
    detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    body = {"detail": detail, "error": "invalid_input", "field": first["field"], "errors": problems}
    return JSONResponse(body, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path}"
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse({"detail": detail, "error": code}, status_code=exc.status_code)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_disk_full(exc):  # wherever it surfaced, a full disk is a 507 that says so, not a 500
        log.error("%s %s: the disk is full: %s", request.method, request.url.path, exc)
        full = InsufficientStorage(f"the disk is full ({exc}); free some space and try again")
        return JSONResponse(full.to_dict(), status_code=full.status)
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    body = {"detail": f"internal error: {type(exc).__name__}: {exc}", "error": "internal_error"}
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SweatpantsError, _sweatpants_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
