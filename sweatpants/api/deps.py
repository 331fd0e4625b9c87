"""Route dependencies: how a route reaches the engine of the app serving it."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    from sweatpants.engine import Engine


def get_engine(connection: HTTPConnection) -> Engine:
    return cast("Engine", connection.app.state.engine)
