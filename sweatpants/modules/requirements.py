"""A module's requirements.txt: reading it, and the standalone app's requirements folders.

`requirements_text` is what every install reads. Everywhere but the standalone app a module
with requirements gets a virtual environment of its own (`sweatpants.modules.envs`). The
standalone app has no `sweatpants` package folder to give an environment, so there its
requirements are installed with `pip install --target <modules_dir>/.deps/<module id>/<key>`
(`key` hashes the file's text and the Python version) and the job runner puts that folder first
on `sys.path` of a job forked from the daemon's own fork server; packages that process had
imported before the module loaded stay the daemon's, and the runner warns in the job's log
when the folder holds another version of one (`sweatpants.jobs.shadowing`).
A folder is used only once pip has finished (it is built under a temporary name, marked
complete, then renamed), so a failed or interrupted install never leaves a half folder in use.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import shutil
import sys
from pathlib import Path

from sweatpants.errors import InvalidInput
from sweatpants.frozen import pip_command
from sweatpants.modules import process

REQUIREMENTS_NAME = "requirements.txt"
DEPS_DIR_NAME = ".deps"
COMPLETE_MARKER = ".sweatpants-complete"
DEFAULT_PIP_TIMEOUT = 900.0
_DROPPED_ENV = (
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_ROOT",
    "PYTHONPATH",
    "PIP_REQUIRE_VIRTUALENV",
)


def requirements_text(module_dir: Path) -> str | None:
    """The module's requirements.txt, or None when it has none (or only comments)."""
    file = module_dir / REQUIREMENTS_NAME
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{file}: cannot be read ({exc})", field=REQUIREMENTS_NAME) from None
    meaningful = [
        line for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    return text if meaningful else None


def requirements_key(text: str) -> str:
    """Names the folder for this exact requirements text on this Python and platform."""
    seed = f"{sys.implementation.name}{sys.version_info[0]}.{sys.version_info[1]}"
    seed += f"-{sys.platform}-{platform.machine()}\n{text}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]


def deps_root(modules_root: Path, module_id: str) -> Path:
    return modules_root / DEPS_DIR_NAME / module_id


def expected_deps_path(modules_root: Path, module_id: str, module_dir: Path) -> Path | None:
    """Where the module's dependencies live (installed or not); None without requirements."""
    text = requirements_text(module_dir)
    if text is None:
        return None
    return deps_root(modules_root, module_id) / requirements_key(text)


def is_installed(deps_path: Path) -> bool:
    return (deps_path / COMPLETE_MARKER).is_file()


def ensure_requirements(
    modules_root: Path,
    module_id: str,
    module_dir: Path,
    *,
    timeout: float = DEFAULT_PIP_TIMEOUT,
) -> Path | None:
    """Install the module's requirements unless already done; return their folder or None.

    A failing pip raises `InvalidInput` carrying pip's last lines of output.
    """
    target = expected_deps_path(modules_root, module_id, module_dir)
    if target is None or is_installed(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".tmp-{target.name}-{secrets.token_hex(4)}"
    args = [
        *pip_command(), "install",
        "--target", str(building),
        "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
        "--requirement", str(module_dir / REQUIREMENTS_NAME),
    ]  # fmt: skip
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED_ENV}
    env["PIP_NO_INPUT"] = "1"
    try:
        done = process.run(
            args, timeout=timeout, cwd=module_dir, env=env, what=f"pip install for {module_id!r}"
        )
        if not done.ok:
            raise InvalidInput(
                f"{module_dir / REQUIREMENTS_NAME}: pip install failed for module "
                f"{module_id!r}:\n{done.tail()}",
                field=REQUIREMENTS_NAME,
            )
        building.mkdir(parents=True, exist_ok=True)
        (building / COMPLETE_MARKER).write_text(
            requirements_text(module_dir) or "", encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        building.rename(target)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
    return target


def prune(modules_root: Path, module_id: str, keep: Path | None) -> None:
    """Remove the module's dependency folders other than `keep` (older requirements)."""
    root = deps_root(modules_root, module_id)
    if not root.is_dir():
        return
    for child in root.iterdir():
        if keep is None or child.name != keep.name:
            shutil.rmtree(child, ignore_errors=True)
    if keep is None:
        shutil.rmtree(root, ignore_errors=True)
