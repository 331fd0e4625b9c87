"""Redraw every icon in this folder from `sweatpants.desktop.icons` (Pillow only).

Run from the project root: `python assets/make_icons.py`. Commit the files it writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sweatpants.desktop.icons import write_assets  # noqa: E402


def main() -> int:
    for path in write_assets(Path(__file__).resolve().parent):
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
