"""Where an installed module came from, recorded in the module's own folder.

Each install writes `.sweatpants-source.json` into the installed folder: the kind of source
(`path`, `git`, `example`), its location (URL with any password redacted, or folder), and
what identifies its content (the git commit, or a hash of the folder's files). Sync compares
against it to skip sources that have not changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

SOURCE_FILE = ".sweatpants-source.json"
# Never copied from a source folder, never part of its content hash.
IGNORED_NAMES = frozenset({".git", ".hg", ".svn", "__pycache__", ".venv", SOURCE_FILE})
IGNORED_SUFFIXES = (".pyc", ".pyo")


def is_ignored(name: str) -> bool:
    return name in IGNORED_NAMES or name.endswith(IGNORED_SUFFIXES)


def read_source(module_dir: Path) -> dict[str, Any] | None:
    """The recorded source of an installed module, or None (hand-placed, or unreadable)."""
    try:
        data = json.loads((module_dir / SOURCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_source(module_dir: Path, record: dict[str, Any]) -> None:
    (module_dir / SOURCE_FILE).write_text(json.dumps(record, indent=2, sort_keys=True), "utf-8")


def source_location(record: dict[str, Any] | None) -> str | None:
    """The URL or folder a module came from, for lists and sync reports."""
    if not record:
        return None
    location = record.get("url") or record.get("path")
    return str(location) if location else None


def folder_hash(folder: Path) -> str:
    """A hash of every file's relative path and bytes (VCS folders and caches left out)."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(name for name in dirnames if not is_ignored(name))
        for name in sorted(filenames):
            if is_ignored(name):
                continue
            path = Path(dirpath) / name
            relative = path.relative_to(folder).as_posix()
            digest.update(relative.encode("utf-8") + b"\0")
            try:
                with path.open("rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 16), b""):
                        digest.update(chunk)
            except OSError:
                digest.update(b"<unreadable>")
            digest.update(b"\0")
    return digest.hexdigest()
