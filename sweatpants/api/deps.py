"""Route dependencies: how a route reaches the engine of the app serving it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from sweatpants.engine import Engine


def engine_of(connection: HTTPConnection) -> Engine:
    """The engine behind a request or WebSocket."""
    return cast("Engine", connection.app.state.engine)


async def get_engine(connection: HTTPConnection) -> Engine:
    """The `Depends` form. Async on purpose: a plain `def` costs a thread hop per request."""
    return engine_of(connection)
