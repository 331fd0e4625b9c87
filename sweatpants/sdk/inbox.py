"""The job side of waiting for a callback: a WebSocket to the daemon's `/callbacks/wait`.

The daemon answers `{"type": "callback", "callback": {...}}` as soon as a callback with the
id is stored (at once if one already is), `{"type": "ping"}` meanwhile, or `{"type": "error",
...}`. If the daemon goes away the job process ends with it (see jobs/runner.py); the resumed
job asks again and gets the stored callback, so nothing sent meanwhile is missed. A daemon
that closes the socket without stopping the job (a hiccup) is asked again after a pause.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sweatpants.errors import InvalidInput, SweatpantsError, Unavailable
from sweatpants.sdk.runtime import Services
from sweatpants.web.sockets import direct

POLL_SECONDS = 0.5  # how often a waiting job looks at its cancel flag and its deadline
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # pauses before asking a daemon that closed on us again


class CallbackTimeout(SweatpantsError, TimeoutError):
    """No callback with the id arrived within the time `wait_for_callback` was given."""

    status = 504
    code = "callback_timeout"


class _Closed(Exception):
    """The daemon closed the wait or could not be reached: ask again after a pause."""


def wait_url(daemon_url: str, callback_id: str) -> str:
    base = daemon_url.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base[len("https://") :]
    elif base.startswith("http://"):
        base = "ws://" + base[len("http://") :]
    return f"{base}/callbacks/wait?{urlencode({'callback_id': callback_id})}"


@dataclass
class _Wait:
    services: Services
    callback_id: str
    timeout: float | None
    cancelled: Callable[[], bool]
    deadline: float | None

    def check(self) -> None:
        """Raise when the job is stopping or the time is up."""
        if self.cancelled():
            raise asyncio.CancelledError(f"the job was stopped waiting for {self.callback_id!r}")
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise CallbackTimeout(
                f"no callback with callback_id {self.callback_id!r} arrived within "
                f"{self.timeout:g} s"
            )


async def wait_for_callback(
    services: Services,
    callback_id: str,
    timeout: float | None,
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    """The `payload` of the callback carrying `callback_id`; CallbackTimeout after `timeout`
    seconds (None: no limit); asyncio.CancelledError once `cancelled()` turns true."""
    if not isinstance(callback_id, str) or not callback_id:
        raise InvalidInput("callback_id must be a non-empty string", field="callback_id")
    if timeout is not None and not timeout > 0:
        raise InvalidInput("timeout must be a positive number of seconds", field="timeout")
    if not services.daemon_url:
        raise Unavailable("wait_for_callback needs a daemon: it works inside a running job")
    deadline = None if timeout is None else time.monotonic() + timeout
    wait = _Wait(services, callback_id, timeout, cancelled, deadline)
    for attempt in range(1_000_000):  # bounded by the deadline in practice; never busy
        try:
            callback = await _ask(wait)
        except _Closed:
            end = time.monotonic() + RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
            while time.monotonic() < end:
                wait.check()
                await asyncio.sleep(min(POLL_SECONDS, max(0.0, end - time.monotonic())))
            continue
        payload = callback.get("payload")
        return payload if isinstance(payload, dict) else {}
    raise Unavailable(f"gave up waiting for callback {callback_id!r}: the daemon kept closing")


async def _ask(wait: _Wait) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

    wait.check()
    token = wait.services.api_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        socket = await connect(
            wait_url(wait.services.daemon_url, wait.callback_id),
            additional_headers=headers,
            ping_interval=None,  # the daemon pings
            open_timeout=15,
            **direct(connect),
        )
    except InvalidStatus as exc:
        if exc.response.status_code in (401, 403):  # asking again would not help
            raise Unavailable(f"the daemon refused to wait for a callback: {exc}") from None
        raise _Closed() from None
    except (OSError, InvalidHandshake, TimeoutError):
        raise _Closed() from None
    try:
        while True:
            wait.check()
            try:
                raw = await asyncio.wait_for(socket.recv(), POLL_SECONDS)
            except TimeoutError:
                continue
            except ConnectionClosed:
                raise _Closed() from None
            message = json.loads(raw)
            if message.get("type") == "callback":
                callback: dict[str, Any] = message.get("callback") or {}
                return callback
            if message.get("type") == "error":
                raise InvalidInput(
                    str(message.get("detail") or "the daemon refused the wait"),
                    field=message.get("field"),
                )
    finally:
        await socket.close()
