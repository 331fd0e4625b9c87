"""An install's log as the CLI shows it: one line that keeps changing on a terminal.

`follow` posts an install with `?stream=true` and hands each line the daemon's resolver and
installer print to `show`; it returns the stream's last item (`done` or `error`). On a
terminal `ProgressLine` rewrites one line of stderr and clears it at the end; elsewhere (a
pipe, a log file) it writes each line, so nothing is lost in a CI log.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

from sweatpants.cli.client import LONG_TIMEOUT, DaemonClient
from sweatpants.cli.errors import CliError

MAX_LINE = 4096 * 16


class ProgressLine:
    """Shows the latest line of an install on stderr."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        isatty = getattr(stream, "isatty", None)
        self._tty = bool(isatty and isatty())
        self._shown = False

    def show(self, line: str) -> None:
        if not self._tty:
            self._stream.write(f"  {line}\n")
            self._stream.flush()
            return
        width = max(20, shutil.get_terminal_size((80, 20)).columns - 1)
        text = line.replace("\t", " ")
        text = text if len(text) <= width else text[: width - 1] + "…"
        self._stream.write(f"\r\x1b[2K{text}")
        self._stream.flush()
        self._shown = True

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()


def follow(
    client: DaemonClient, path: str, body: dict[str, Any], show: Callable[[str], None]
) -> dict[str, Any]:
    """POST `path?stream=true` and pass each `log` line to `show`; the last item."""
    last: dict[str, Any] = {}
    with client.stream(
        path, {"stream": "true"}, method="POST", body=body, timeout=LONG_TIMEOUT
    ) as response:
        for raw in response.iter_lines():
            if not raw.strip():
                continue
            try:
                item = json.loads(raw[:MAX_LINE])
            except ValueError:
                raise CliError(
                    f"the daemon's install log had a line that is not JSON: {raw!r}"
                ) from None
            if item.get("type") == "log":
                show(str(item.get("line", "")))
            elif item.get("type") in ("done", "error"):
                last = item
    if not last:
        raise CliError("the daemon's install log ended without saying whether it worked")
    return last
