"""Where the CLI writes: tables and colour for people, JSON for scripts, errors to stderr.

Colour only when the stream is a terminal and `NO_COLOR` is unset (https://no-color.org).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "cyan": "36",
}

STATUS_STYLES = {
    "pending": "dim",
    "running": "cyan",
    "completed": "green",
    "failed": "red",
    "stopped": "yellow",
    "stopping": "yellow",
}

LEVEL_STYLES = {"DEBUG": "dim", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Output:
    """Writes to stdout (results, tables, JSON) and stderr (notes, errors)."""

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self.colour = wants_colour(self.stdout)
        self.err_colour = wants_colour(self.stderr)

    def style(self, text: str, style: str | None, *, stream_colour: bool | None = None) -> str:
        colour = self.colour if stream_colour is None else stream_colour
        if not colour or not style or not text:
            return text
        return f"\x1b[{STYLES[style]}m{text}\x1b[0m"

    def line(self, text: str = "") -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def note(self, text: str, style: str | None = None) -> None:
        """A message for the person, not the data: goes to stderr so pipes stay clean."""
        self.stderr.write(self.style(text, style, stream_colour=self.err_colour) + "\n")
        self.stderr.flush()

    def error(self, text: str) -> None:
        prefix = self.style("error:", "red", stream_colour=self.err_colour)
        self.stderr.write(f"{prefix} {text}\n")
        self.stderr.flush()

    def json(self, value: Any) -> None:
        self.line(json.dumps(value, indent=2, ensure_ascii=False))

    def json_line(self, value: Any) -> None:
        self.line(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        styles: Sequence[Sequence[str | None]] | None = None,
    ) -> None:
        """Aligned columns; `styles[r][c]` colours one cell (padding stays uncoloured)."""
        widths = [len(h) for h in headers]
        for row in rows:
            for index, value in enumerate(row):
                widths[index] = max(widths[index], len(value))
        last = len(headers) - 1
        header = "  ".join(
            self.style(h.ljust(widths[i]) if i < last else h, "bold") for i, h in enumerate(headers)
        )
        self.line(header.rstrip())
        for r, row in enumerate(rows):
            cells = []
            for i, value in enumerate(row):
                padding = " " * (widths[i] - len(value)) if i < last else ""
                style = styles[r][i] if styles else None
                cells.append(self.style(value, style) + padding)
            self.line("  ".join(cells).rstrip())
