"""One exception family for the whole engine.

Every error a user can cause carries its HTTP status, a short machine code and, where it
applies, the input field it is about. The API renders all of them through one handler into
one JSON shape (`{"detail": ..., "error": ..., "field": ...}`); the CLI prints `detail`.
"""

from __future__ import annotations


class SweatpantsError(Exception):
    """Base of every error the engine reports to a user."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"detail": self.detail, "error": self.code}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(SweatpantsError):
    """A request body, query value, manifest or setting is wrong; `field` names it."""

    status = 422
    code = "invalid_input"


class Unauthorized(SweatpantsError):
    """A bearer token is required and was missing or wrong."""

    status = 401
    code = "unauthorized"


class Forbidden(SweatpantsError):
    """The request came from somewhere the daemon does not serve (foreign host or origin)."""

    status = 403
    code = "forbidden"


class NotFound(SweatpantsError):
    """An id that names nothing: module, job, file."""

    status = 404
    code = "not_found"


class Conflict(SweatpantsError):
    """The request is valid but clashes with the current state (job already ended, id taken)."""

    status = 409
    code = "conflict"


class Ambiguous(Conflict):
    """A job id prefix matches more than one job; `matches` lists them."""

    code = "ambiguous_id"

    def __init__(self, detail: str, *, matches: list[str]) -> None:
        super().__init__(detail)
        self.matches = matches

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "matches": self.matches}


class UnsupportedMediaType(SweatpantsError):
    """A body that is not JSON where only JSON is accepted."""

    status = 415
    code = "unsupported_media_type"


class Unavailable(SweatpantsError):
    """A capability the engine needs is missing or down (browser binary, proxy, daemon stopping)."""

    status = 503
    code = "unavailable"


class InsufficientStorage(SweatpantsError):
    """The disk holding the database is full or below the free-space minimum; says where."""

    status = 507
    code = "insufficient_storage"


class ConfigError(SweatpantsError):
    """A setting has a value the engine cannot use; raised at start-up with how to fix it."""

    status = 500
    code = "config_error"
