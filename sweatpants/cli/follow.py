"""Following a job's logs over the daemon's WebSocket until its `end` message.

Pings are skipped. If the connection drops before `end` (the daemon restarting), it
reconnects with `?after=<last log id>` a bounded number of times, so no line is shown twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import quote, urlencode

from sweatpants.cli.client import error_from_body, not_our_daemon
from sweatpants.cli.errors import CliError, DaemonUnreachable
from sweatpants.cli.target import Target
from sweatpants.web.sockets import direct

MAX_RECONNECTS = 10
RECONNECT_WINDOW = 60.0  # seconds to keep trying after a dropped connection
OPEN_TIMEOUT = 10.0

ERROR_STATUS = {"unauthorized": 401, "forbidden": 403, "not_found": 404, "ambiguous_id": 409}

LogHandler = Callable[[dict[str, Any]], None]


@dataclass
class _Position:
    last: int | str | None  # id of the last log entry shown
    connected: bool = False  # at least one handshake succeeded


def follow_logs(
    target: Target, job_id: str, on_log: LogHandler, after: int | str | None = None
) -> dict[str, Any]:
    """Call `on_log` for each entry after `after`; return the `end` message."""
    from websockets.exceptions import InvalidStatus, WebSocketException

    position = _Position(last=after)
    drops = 0
    deadline: float | None = None
    while True:
        try:
            end = _one_connection(target, job_id, on_log, position)
        except InvalidStatus as exc:
            raise _rejected(exc, target.url) from None
        except (WebSocketException, OSError, TimeoutError, EOFError) as exc:
            # EOFError: websockets before 14 raise it bare when the daemon closes mid-handshake
            if not position.connected:
                if isinstance(exc, ConnectionRefusedError | TimeoutError):
                    raise DaemonUnreachable(target.url) from None
                if not isinstance(exc, ConnectionError):
                    raise CliError(f"cannot open the log stream at {target.url}: {exc}") from None
            end = None
        if end is not None:
            return end
        drops += 1
        deadline = deadline or time.monotonic() + RECONNECT_WINDOW
        if drops > MAX_RECONNECTS or time.monotonic() > deadline:
            raise CliError(
                f"lost the log stream of job {job_id[:8]} and could not reconnect to "
                f"{target.url}; the job may still be running: sweatpants logs -f {job_id[:8]}"
            )
        time.sleep(min(0.1 * 2**drops, 5.0))  # back off before reconnecting (bounded above)


def _one_connection(
    target: Target, job_id: str, on_log: LogHandler, position: _Position
) -> dict[str, Any] | None:
    """Read one connection to its end; the `end` message, or None if it closed without one."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    query = f"?{urlencode({'after': position.last})}" if position.last is not None else ""
    url = f"{target.ws_url}/jobs/{quote(job_id, safe='')}/logs/stream{query}"
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else None
    options = direct(connect)  # straight to the daemon, never through HTTP_PROXY
    with connect(
        url, additional_headers=headers, open_timeout=OPEN_TIMEOUT, max_size=None, **options
    ) as socket:
        position.connected = True
        try:
            for raw in socket:
                message = json.loads(raw)
                if not isinstance(message, dict):
                    continue
                kind = message.get("type")
                if kind == "log":
                    on_log(message)
                    if message.get("id") is not None:
                        position.last = message["id"]
                elif kind == "end":
                    return message
                elif kind == "error":  # refused after the handshake: unknown id, ambiguous...
                    raise error_from_body(message, ERROR_STATUS.get(str(message.get("error")), 400))
                # "ping" (keepalive) and kinds this CLI does not know are skipped
        except ConnectionClosed:
            return None
    return None


def _rejected(exc: Any, url: str) -> CliError:
    """A refused handshake (404 unknown job, 401 token, 409 ambiguous) as the API's error."""
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    try:
        body = json.loads(bytes(response.body or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and "detail" in body:
        return error_from_body(body, status)
    if status in (401, 403, 404):
        return CliError(f"the daemon refused the log stream (HTTP {status})")
    return not_our_daemon(url, status)


def follow_with_progress(
    target: Target,
    job_id: str,
    on_log: LogHandler,
    stream: TextIO,
    *,
    initial: Any = None,
    after: int | str | None = None,
) -> dict[str, Any]:
    """`follow_logs` with the live progress line (cli/progress.py) kept under the logs on
    `stream`; `initial` is the job's `progress` as last read. Decide with `progress_wanted`
    whether to call this or `follow_logs`."""
    from sweatpants.cli.progress import ProgressLine, ProgressWatcher

    line = ProgressLine(stream)
    watcher = ProgressWatcher(target, job_id, line)
    watcher.start(initial)
    try:
        return follow_logs(target, job_id, line.wrap(on_log), after)
    finally:
        watcher.stop()
        line.close()
