"""Byte counts as people read them; shared by the engine's messages, the CLI and the tray."""

from __future__ import annotations


def human_bytes(count: int) -> str:
    """`512 B`, `3.4 MB`, `1.2 GB` (binary units, as `df -h` counts)."""
    size = float(count)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"
