"""`/mcp` on the daemon: the same MCP server as `sweatpants mcp`, over streamable HTTP.

An ASGI endpoint the app mounts as a plain route, so every request reaches it through the
security guard first (the Host check against DNS rebinding, the Origin check, JSON bodies,
the bearer token): exactly the rules of every other endpoint. The SDK's own Host/Origin check
is therefore off (the guard already did it, with the daemon's allowed hosts).

Nothing of the SDK is imported until the first request (the daemon starts no slower); then
the server is built with its tools calling this daemon's REST API over loopback with the
daemon's own token, like the stdio server does from outside, and the SDK's session manager
runs in a task of its own for the life of the daemon's event loop. Stateless JSON mode: each
POST is one complete exchange, so there is no session to keep or resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sweatpants.api.security import ASGIApp, Receive, Scope, Send
from sweatpants.cli.target import Target
from sweatpants.config import Settings

PATH = "/mcp"


class McpEndpoint:
    """The ASGI app behind `/mcp`, started on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app: ASGIApp | None = None
        self._lock = asyncio.Lock()
        self._runner: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app or await self._start(scope)
        await app(scope, receive, send)

    async def _start(self, scope: Scope) -> ASGIApp:
        async with self._lock:
            if self._app is not None:
                return self._app
            from mcp.server.transport_security import TransportSecuritySettings

            from sweatpants.mcp.server import build_server

            host, port = scope.get("server") or ("127.0.0.1", self._settings.api_port)
            if host in ("0.0.0.0", "::", ""):
                host = "127.0.0.1"
            if ":" in str(host):
                host = f"[{host}]"
            target = Target(
                url=f"http://{host}:{port}",
                token=self._settings.api_auth_token,
                source="this daemon",
            )
            server = build_server(target)
            logging.getLogger("mcp").setLevel(logging.WARNING)  # not a line per request
            app = server.streamable_http_app(
                streamable_http_path=PATH,
                stateless_http=True,
                json_response=True,
                transport_security=TransportSecuritySettings(
                    enable_dns_rebinding_protection=False  # the security guard checked it
                ),
            )
            ready = asyncio.Event()

            async def run() -> None:
                async with server.session_manager.run():
                    ready.set()
                    await asyncio.Event().wait()  # until the event loop ends

            self._runner = asyncio.create_task(run(), name="mcp-session-manager")
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({waiter, self._runner}, return_when=asyncio.FIRST_COMPLETED)
            if not ready.is_set():
                waiter.cancel()
                self._runner.result()  # raises what stopped it
            self._app = app
            return app

    async def close(self) -> None:
        """Stop the session manager (if it was started)."""
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner


def route(settings: Settings) -> Any:
    """The Starlette route for `/mcp` (an ASGI endpoint: GET, POST and DELETE go to the SDK).
    Not in /openapi.json (it speaks JSON-RPC, not REST); a signed user token needs the `*`
    scope for it (api/scopes.py: it belongs to no family of routes)."""
    from starlette.routing import Route

    endpoint = McpEndpoint(settings)
    methods = ["GET", "POST", "DELETE"]
    return Route(PATH, endpoint, methods=methods, include_in_schema=False)
