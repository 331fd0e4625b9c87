"""Byte counts as the CLI, the tray and the disk messages print them."""

from __future__ import annotations

import pytest

from sweatpants.sizes import human_bytes


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (3_565_158, "3.4 MB"),
        (1024**3 * 5 // 4, "1.2 GB"),
        (1024**4, "1024.0 GB"),
    ],
)
def test_human_bytes(count: int, text: str) -> None:
    assert human_bytes(count) == text
