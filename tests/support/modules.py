"""Write modules for tests: a folder with module.json and main.py."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any


def write_module(
    parent_dir: Path,
    module_id: str,
    code: str,
    inputs: list[dict[str, Any]] | None = None,
    settings: list[dict[str, Any]] | None = None,
    capabilities: list[str] | None = None,
    requirements: str | None = None,
    name: str | None = None,
    version: str = "1.0.0",
) -> Path:
    folder = parent_dir / module_id
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "id": module_id,
        "name": name or module_id.replace("-", " ").title(),
        "version": version,
        "description": f"test module {module_id}",
        "inputs": inputs or [],
        "settings": settings or [],
        "capabilities": capabilities or [],
    }
    (folder / "module.json").write_text(json.dumps(manifest, indent=2))
    (folder / "main.py").write_text(textwrap.dedent(code).lstrip())
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    return folder
