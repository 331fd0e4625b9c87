"""Install a module from a folder or a git repository, and uninstall one.

An install never leaves a half module in place and never loses the one it replaces: the
folder is copied to `<modules>/.tmp-<id>-<random>`, its manifest checked again, its
environment built (or reused: `sweatpants.modules.envs`), and only then the old folder is
renamed aside and the new one renamed into `<modules>/<id>`. Any failure before the rename
leaves the old install, and the environment it runs on, as they were. `on_line` receives the
resolver's and installer's output as it comes (the install log).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sweatpants.config import redact_url
from sweatpants.errors import InvalidInput
from sweatpants.modules import git, requirements
from sweatpants.modules.ids import check_module_id, resolve_inside, subpath_problem
from sweatpants.modules.manifest import MANIFEST_NAME, Manifest
from sweatpants.modules.process import OutputLine
from sweatpants.modules.registry import InstalledModule, ModuleRegistry
from sweatpants.modules.sources import folder_hash, is_ignored, write_source

_SEARCH_DEPTH = 3


def install_from_folder(
    registry: ModuleRegistry,
    source_path: str | Path,
    *,
    source: dict[str, Any] | None = None,
    field: str = "source_path",
    on_line: OutputLine | None = None,
) -> InstalledModule:
    """Copy the module folder `source_path` into the modules directory under its id.

    `source` is what gets recorded as its origin (default: the folder and its content hash).
    Replaces an installed module with the same id atomically. Blocking: call it in a thread.
    """
    if not isinstance(source_path, str | Path) or not str(source_path).strip():
        raise InvalidInput(f"{field}: a folder path is required", field=field)
    folder = Path(source_path).expanduser()
    if not folder.is_dir():
        raise InvalidInput(f"{field}: {folder} is not a folder", field=field)
    folder = folder.resolve()
    manifest = Manifest.load(folder)
    root = registry.root
    root.mkdir(parents=True, exist_ok=True)
    resolved_root = root.resolve()
    if folder == resolved_root or folder in resolved_root.parents:
        raise InvalidInput(f"{field}: {folder} contains the modules folder itself", field=field)
    record = dict(source) if source else {"kind": "path", "path": str(folder)}
    if record.get("kind") == "path" and "hash" not in record:
        record["hash"] = folder_hash(folder)
    record["installed_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

    with registry.install_lock:
        staging = root / f".tmp-{manifest.id}-{secrets.token_hex(4)}"
        try:
            shutil.copytree(
                folder,
                staging,
                symlinks=False,
                ignore=_ignore,
                ignore_dangling_symlinks=True,
            )
            staged = Manifest.load(staging)
            if staged.id != manifest.id:
                raise InvalidInput(
                    f"{folder / MANIFEST_NAME}: field 'id' changed during the install "
                    f"({manifest.id!r} -> {staged.id!r}); try again",
                    field="id",
                )
            write_source(staging, record)
            deps = registry.ensure_requirements(staged, staging, on_line=on_line)
            _swap_into_place(registry, staging, manifest.id)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        requirements.prune(root, manifest.id, deps)
        registry.invalidate()
        registry.collect_environments()
        return registry.get(manifest.id)


def install_from_git(
    registry: ModuleRegistry,
    repo_url: str,
    module_name: str | None = None,
    *,
    branch: str | None = None,
    on_line: OutputLine | None = None,
) -> InstalledModule:
    """Shallow-clone `repo_url` and install its root, or its `module_name` subfolder.

    `module_name` is a path inside the repository or the id of a module found in it.
    """
    url = git.check_repo_url(repo_url)
    if module_name is not None and not module_name.strip():
        module_name = None
    if module_name is not None:
        _check_subpath(module_name, "module_name")
    with fetched(registry, url, branch=branch) as (repo, commit):
        folder, subdir = locate_module(repo, module_name, field="module_name")
        record = {
            "kind": "git",
            "url": redact_url(url),
            "request": module_name or "",
            "subdir": subdir,
            "commit": commit,
        }
        if branch is not None:
            record["branch"] = branch
        return install_from_folder(
            registry, folder, source=record, field="module_name", on_line=on_line
        )


def uninstall(registry: ModuleRegistry, module_id: str) -> dict[str, Any]:
    """Remove an installed module and its dependency folders. Callers check running jobs."""
    check_module_id(module_id)
    with registry.install_lock:
        module = registry.get(module_id)
        trash = registry.root / f".trash-{module_id}-{secrets.token_hex(4)}"
        os.rename(module.path, trash)
        registry.invalidate()
        _remove(trash)
        requirements.prune(registry.root, module_id, None)
        registry.collect_environments()
    return {"id": module_id, "uninstalled": True}


@contextlib.contextmanager
def fetched(
    registry: ModuleRegistry, url: str, *, branch: str | None = None
) -> Iterator[tuple[Path, str]]:
    """A shallow clone of `url` in a temporary folder, with its commit id; removed after."""
    registry.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(
        dir=registry.root, prefix=".git-", ignore_cleanup_errors=True
    ) as tmp:
        repo = Path(tmp) / "repo"
        commit = git.clone(url, repo, branch=branch, timeout=registry.git_timeout)
        yield repo, commit


def locate_module(base: Path, name: str | None, *, field: str) -> tuple[Path, str]:
    """The module folder inside `base` named by `name` (a sub-path, or a module id found
    within a few levels), with its path relative to `base`. None means `base` itself."""
    if name is None:
        if (base / MANIFEST_NAME).is_file():
            return base, ""
        found = sorted(_find_manifests(base))
        hint = f"; modules found: {', '.join(found)}; pass module_name" if found else ""
        raise InvalidInput(
            f"{field}: no {MANIFEST_NAME} at the top of the source{hint}", field=field
        )
    target = resolve_inside(base, name, field=field)
    if (target / MANIFEST_NAME).is_file():
        return target, target.relative_to(base.resolve()).as_posix()
    for relative, module_id in _find_manifests(base).items():
        if module_id == name:
            return base / relative, relative
    found = sorted(_find_manifests(base))
    hint = f"; modules found: {', '.join(found)}" if found else ""
    raise InvalidInput(
        f"{field}: {name!r} is neither a module folder nor a module id in the source{hint}",
        field=field,
    )


def _find_manifests(base: Path) -> dict[str, str]:
    """`{relative folder: module id}` for module.json files up to a few levels down."""
    found: dict[str, str] = {}
    base = base.resolve()
    for dirpath, dirnames, filenames in os.walk(base):
        relative = Path(dirpath).relative_to(base)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not is_ignored(d))
        if len(relative.parts) >= _SEARCH_DEPTH:
            dirnames[:] = []
        if MANIFEST_NAME in filenames and relative.parts:
            try:
                found[relative.as_posix()] = Manifest.load(Path(dirpath)).id
            except InvalidInput:
                continue
    return found


def _check_subpath(value: str, field: str) -> None:
    problem = subpath_problem(value)
    if problem is not None:
        raise InvalidInput(f"{field}: {problem}", field=field)


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {name for name in names if is_ignored(name)}


def _swap_into_place(registry: ModuleRegistry, staging: Path, module_id: str) -> None:
    """Rename `staging` to `<modules>/<id>`, moving any previous install aside first."""
    target = registry.root / module_id
    previous = registry.find(module_id)
    trash: Path | None = None
    if target.exists() or target.is_symlink():
        trash = registry.root / f".trash-{module_id}-{secrets.token_hex(4)}"
        os.rename(target, trash)
    try:
        os.rename(staging, target)
    except OSError:
        if trash is not None:
            os.rename(trash, target)
        raise
    registry.invalidate()
    if trash is not None:
        _remove(trash)
    # A hand-placed folder under another name that held the same id is replaced too.
    if previous is not None and previous.path.name != module_id and previous.path.exists():
        _remove(previous.path)


def _remove(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)
