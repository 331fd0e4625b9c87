"""The job side of a browser lease: a WebSocket to the daemon's `/browser/lease`.

Holding the socket open holds the lease. The daemon answers first with
`{"type": "lease", "lease_id", "browser_id", "pid", "ws_endpoint"}` (or `{"type": "error",
"error", "detail"}`), later perhaps `{"type": "browser_died", "detail"}`. Closing the socket
releases the lease; so does the job process dying (the kernel closes it), which is how the
daemon reclaims the leases of crashed or killed jobs without any bookkeeping of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from types import TracebackType
from typing import Any
from urllib.parse import urlencode

from sweatpants.errors import Unavailable
from sweatpants.sdk.runtime import Services
from sweatpants.web.sockets import direct

LEASE_WAIT = 90.0


def lease_url(daemon_url: str, job_id: str) -> str:
    base = daemon_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}/browser/lease?{urlencode({'job_id': job_id})}"


class BrowserLease:
    """`async with BrowserLease(services, job_id) as lease:` → `lease.ws_endpoint`."""

    def __init__(self, services: Services, job_id: str, wait: float = LEASE_WAIT) -> None:
        self.services = services
        self.job_id = job_id
        self.wait = wait
        self.info: dict[str, Any] = {}
        self.died = asyncio.Event()
        self.reason = ""
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def ws_endpoint(self) -> str:
        return str(self.info["ws_endpoint"])

    @property
    def browser_id(self) -> str:
        return str(self.info.get("browser_id", "?"))

    async def __aenter__(self) -> BrowserLease:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake

        headers = {}
        if self.services.api_token:
            headers["Authorization"] = f"Bearer {self.services.api_token}"
        url = lease_url(self.services.daemon_url, self.job_id)
        try:
            # No client pings: the daemon pings, and a job busy in a long synchronous call
            # must not lose its lease because it could not answer its own pings.
            # Straight to the daemon, never through the user's HTTP_PROXY (see web/sockets.py).
            self._socket = await connect(
                url,
                additional_headers=headers,
                ping_interval=None,
                open_timeout=15,
                **direct(connect),
            )
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            raise Unavailable(
                f"cannot reach the daemon at {self.services.daemon_url} for a browser lease: {exc}"
            ) from None
        try:
            first = json.loads(await asyncio.wait_for(self._socket.recv(), self.wait))
        except (TimeoutError, ConnectionClosed, ValueError) as exc:
            await self._socket.close()
            raise Unavailable(f"the daemon gave no browser lease: {exc or 'timed out'}") from None
        if first.get("type") != "lease":
            await self._socket.close()
            raise Unavailable(str(first.get("detail") or "the daemon refused a browser lease"))
        self.info = first
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self._socket:
                with contextlib.suppress(ValueError):
                    message = json.loads(raw)
                    if message.get("type") == "browser_died":
                        self.reason = str(message.get("detail") or "the pooled browser died")
                        self.died.set()
        except ConnectionClosed:
            pass
        if not self.died.is_set() and not self.reason:
            self.reason = "the daemon closed the browser lease"

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._socket.close(), 5)
