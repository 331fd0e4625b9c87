"""Names that become paths: module ids and sub-paths given by users.

A module id is also the name of its folder in the modules directory, so it must never be
able to point anywhere else: no `/`, no `\\`, no `..`, no leading dot (hidden and internal
folders such as `.deps` start with one), no trailing dot or space (Windows drops them).
A sub-path (a git `module_name`, an `entrypoint`) must stay inside the folder it names into.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from sweatpants.errors import InvalidInput

MODULE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_WINDOWS_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def module_id_problem(module_id: object) -> str | None:
    """Why `module_id` cannot be a module id, or None when it can."""
    if not isinstance(module_id, str):
        return f"must be a string, got {type(module_id).__name__}"
    if not MODULE_ID_PATTERN.fullmatch(module_id):
        return (
            f"{module_id!r} is not a valid module id: use 1 to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    if ".." in module_id or module_id.endswith("."):
        return f"{module_id!r} is not a valid module id: no '..' and no trailing '.'"
    if module_id.split(".", 1)[0].lower() in _WINDOWS_RESERVED:
        return f"{module_id!r} is not a valid module id: it is a reserved device name on Windows"
    return None


def check_module_id(module_id: object, *, field: str = "module_id") -> str:
    """`module_id` itself when it is a safe module id, else `InvalidInput` naming `field`."""
    problem = module_id_problem(module_id)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}", field=field)
    assert isinstance(module_id, str)
    return module_id


def subpath_problem(value: object) -> str | None:
    """Why `value` is not a relative path that stays inside its base folder, or None."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not value.strip():
        return "must not be empty"
    if any(ord(ch) < 32 for ch in value) or "\\" in value or ":" in value:
        return f"{value!r} must be a plain relative path (no '\\', ':' or control characters)"
    path = PurePosixPath(value)
    if path.is_absolute() or value.startswith("~"):
        return f"{value!r} must be a relative path"
    if any(part == ".." for part in path.parts):
        return f"{value!r} must not contain '..'"
    if value.startswith("-"):
        return f"{value!r} must not start with '-'"
    return None


def resolve_inside(base: Path, value: str, *, field: str) -> Path:
    """`base / value`, refusing anything (including symlinks) that leads outside `base`."""
    problem = subpath_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}", field=field)
    root = base.resolve()
    target = (root / value).resolve()
    if target != root and root not in target.parents:
        raise InvalidInput(f"{field}: {value!r} leads outside {base}", field=field)
    return target
