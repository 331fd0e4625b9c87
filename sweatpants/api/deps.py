"""Route dependencies: how a route reaches the engine of the app serving it, and who asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from sweatpants.engine import Engine
    from sweatpants.tokens import TokenClaims


def engine_of(connection: HTTPConnection) -> Engine:
    """The engine behind a request or WebSocket."""
    return cast("Engine", connection.app.state.engine)


async def get_engine(connection: HTTPConnection) -> Engine:
    """The `Depends` form. Async on purpose: a plain `def` costs a thread hop per request."""
    return engine_of(connection)


def token_claims(connection: HTTPConnection) -> TokenClaims | None:
    """The claims of the signed user token that made the request; None for the master token
    or a daemon without tokens (the security guard put them there, see api/security.py)."""
    state = connection.scope.get("state") or {}
    claims: TokenClaims | None = state.get("token_claims")
    return claims


def created_by(connection: HTTPConnection) -> int | None:
    """The user id (`sub`) of the signed token behind a request, for `Job.created_by`."""
    claims = token_claims(connection)
    return claims.sub if claims is not None else None
