"""The installed modules: the folders of the modules directory that hold a module.json.

Reads are cheap and never wait for an install: the registry keeps an immutable snapshot and
checks it with one `stat` of the modules directory (plus one per folder that was not yet a
valid module, usually none). A folder added by hand changes the directory's mtime, so it is
picked up on the next read without a restart; a folder still being filled in, or with a
broken module.json, is watched until it becomes valid. `reload()` rescans everything (for
edits inside a module folder) and installs requirements that are missing.

A module with a requirements.txt runs on a virtual environment of its own
(`sweatpants.modules.envs`, shared by modules with the same requirements); in the standalone
app, which has no Python package folder to give an environment, its requirements go to a
folder first on the job's `sys.path` instead (`sweatpants.modules.requirements`).

Installs, uninstalls and reloads are serialised by `install_lock`; scans by a second lock.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sweatpants.config import Settings
from sweatpants.errors import NotFound, SweatpantsError
from sweatpants.frozen import is_frozen
from sweatpants.modules import envs, requirements
from sweatpants.modules.ids import check_module_id
from sweatpants.modules.manifest import MANIFEST_NAME, Manifest
from sweatpants.modules.process import OutputLine
from sweatpants.modules.sources import read_source, source_location

log = logging.getLogger(__name__)

# Folders the engine makes inside the modules directory start with a dot; scans skip them.
STAGING_PREFIXES = (".tmp-", ".trash-", ".git-")
STALE_STAGING_SECONDS = 3600.0
# A directory mtime this close to "now" may hide a second change in the same clock tick.
_RECENT_SECONDS = 2.0
_RECHECK_SECONDS = 1.0


@dataclass(frozen=True)
class InstalledModule:
    """A module as installed: its manifest, folder, entrypoint, dependencies and source.

    `deps_path` is its virtual environment (`<data>/envs/<key>`: its jobs run on that
    environment's Python), or in the standalone app the folder holding its requirements;
    None when it has no requirements.txt or they are not installed yet, in which case
    `requirements_pending` is True and `reload()` installs them.
    """

    manifest: Manifest
    path: Path
    entrypoint_path: Path
    deps_path: Path | None = None
    source: dict[str, Any] | None = None
    requirements_pending: bool = False

    @property
    def id(self) -> str:
        return self.manifest.id

    def _placement(self) -> dict[str, Any]:
        requirements_state = "none"
        if self.requirements_pending:
            requirements_state = "pending"
        elif self.deps_path is not None:
            requirements_state = "installed"
        return {
            "path": str(self.path),
            "source": source_location(self.source),
            "source_info": self.source,
            "requirements": requirements_state,
        }

    def to_summary(self) -> dict[str, Any]:
        """A `GET /modules` item: id, name, version, description, capabilities, path, source."""
        return {**self.manifest.to_summary(), **self._placement()}

    def to_dict(self) -> dict[str, Any]:
        """`GET /modules/{id}`: the full manifest plus where it is installed from."""
        return {**self.manifest.to_dict(), **self._placement()}


@dataclass(frozen=True)
class ReloadReport:
    """What a rescan found: the modules, and one `{path, error}` per folder that failed."""

    modules: list[InstalledModule]
    errors: list[dict[str, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "modules": [module.to_summary() for module in self.modules],
            "errors": list(self.errors),
        }


@dataclass(frozen=True)
class _Snapshot:
    modules: dict[str, InstalledModule]
    errors: tuple[dict[str, str], ...]
    root_mtime: int | None
    watched: tuple[tuple[Path, int | None], ...]
    scanned_at: float
    recent: bool


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


class ModuleRegistry:
    """The modules installed in `settings.modules_path`. Safe to use from many threads."""

    def __init__(
        self,
        settings: Settings,
        *,
        git_timeout: float = 300.0,
        pip_timeout: float = requirements.DEFAULT_PIP_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.root = settings.modules_path
        self.git_timeout = git_timeout
        self.pip_timeout = pip_timeout
        self.install_lock = threading.RLock()
        self.envs = envs.Environments(settings.data_dir / envs.ENVS_DIR_NAME, timeout=pip_timeout)
        self._scan_lock = threading.Lock()
        self._snapshot: _Snapshot | None = None
        self._generation = 0
        self._sweep_staging()

    # ----- reads

    def get(self, module_id: str) -> InstalledModule:
        """The installed module; `InvalidInput` for a malformed id, `NotFound` if absent."""
        check_module_id(module_id)
        module = self._current().modules.get(module_id)
        if module is None:
            raise NotFound(f"module {module_id!r} is not installed", field="module_id")
        return module

    def find(self, module_id: str) -> InstalledModule | None:
        """The installed module or None (no error for malformed ids)."""
        return self._current().modules.get(module_id)

    def list(self) -> builtins.list[InstalledModule]:
        """Every installed module, by id."""
        modules = self._current().modules
        return [modules[key] for key in sorted(modules)]

    def __iter__(self) -> Iterator[InstalledModule]:
        return iter(self.list())

    def count(self) -> int:
        """How many modules are installed (one stat when nothing changed)."""
        return len(self._current().modules)

    def errors(self) -> builtins.list[dict[str, str]]:
        """Folders of the last scan that hold a module.json the registry cannot use."""
        return list(self._current().errors)

    @property
    def generation(self) -> int:
        """Increases at every `reload()`: anything caching module code can compare it."""
        return self._generation

    # ----- changes

    def invalidate(self) -> None:
        """Forget the snapshot; the next read rescans (called after installs)."""
        self._snapshot = None

    def reload(self, on_line: OutputLine | None = None) -> ReloadReport:
        """Rescan every folder, build missing environments, drop unused ones. `on_line`
        receives what the resolver and installer print."""
        with self.install_lock:
            self.invalidate()
            snapshot = self._current()
            errors = list(snapshot.errors)
            for module in snapshot.modules.values():
                if not module.requirements_pending:
                    continue
                try:
                    self.ensure_requirements(module.manifest, module.path, on_line=on_line)
                except SweatpantsError as exc:
                    errors.append({"path": str(module.path), "id": module.id, "error": exc.detail})
            self.invalidate()
            snapshot = self._current()
            self._prune_deps(snapshot)
            self._generation += 1
            return ReloadReport([snapshot.modules[key] for key in sorted(snapshot.modules)], errors)

    # ----- requirements

    def environment_request(self, manifest: Manifest, folder: Path) -> envs.EnvRequest | None:
        """What the module in `folder` needs built; None without requirements."""
        text = requirements.requirements_text(folder)
        if text is None:
            return None
        return envs.EnvRequest(manifest.id, folder, text, manifest.capabilities)

    def expected_deps_path(self, manifest: Manifest, folder: Path) -> Path | None:
        """Where the module's environment is (built or not); None without requirements."""
        if is_frozen():
            return requirements.expected_deps_path(self.root, manifest.id, folder)
        request = self.environment_request(manifest, folder)
        return self.envs.path(request.key) if request is not None else None

    def ensure_requirements(
        self,
        manifest: Manifest,
        folder: Path,
        *,
        on_line: OutputLine | None = None,
        rebuild: bool = False,
    ) -> Path | None:
        """Build (or reuse) the environment of the module in `folder`; None without
        requirements. A failing resolver or installer raises `InvalidInput` with its output."""
        if is_frozen():
            return requirements.ensure_requirements(
                self.root, manifest.id, folder, timeout=self.pip_timeout
            )
        request = self.environment_request(manifest, folder)
        if request is None:
            return None
        return self.envs.ensure(request, on_line=on_line, rebuild=rebuild)

    def collect_environments(self) -> builtins.list[str]:
        """Remove the environments no installed module needs (and no job runs on)."""
        with self.install_lock:
            keep = set()
            for module in self._current().modules.values():
                expected = self.expected_deps_path(module.manifest, module.path)
                if expected is not None:
                    keep.add(expected.name)
            return self.envs.collect(keep)

    # ----- scanning

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and not self._stale(snapshot):
            return snapshot
        with self._scan_lock:
            snapshot = self._snapshot
            if snapshot is None or self._stale(snapshot):
                snapshot = self._scan()
                self._snapshot = snapshot
            return snapshot

    def _stale(self, snapshot: _Snapshot) -> bool:
        if _mtime(self.root) != snapshot.root_mtime:
            return True
        for path, seen in snapshot.watched:
            if _mtime(path) != seen:
                return True
        return snapshot.recent and time.monotonic() - snapshot.scanned_at >= _RECHECK_SECONDS

    def _scan(self) -> _Snapshot:
        scanned_at = time.monotonic()
        root_mtime = _mtime(self.root)
        modules: dict[str, InstalledModule] = {}
        errors: builtins.list[dict[str, str]] = []
        watched: builtins.list[tuple[Path, int | None]] = []
        found: builtins.list[InstalledModule] = []
        for folder in self._folders():
            manifest_file = folder / MANIFEST_NAME
            watch = [(folder, _mtime(folder)), (manifest_file, _mtime(manifest_file))]
            if not manifest_file.is_file():
                watched += watch
                continue
            try:
                found.append(self._load(folder))
            except (SweatpantsError, OSError) as exc:
                detail = exc.detail if isinstance(exc, SweatpantsError) else str(exc)
                errors.append({"path": str(folder), "error": detail})
                watched += watch
        # A folder named after its id wins over another folder claiming the same id.
        found.sort(key=lambda module: (module.path.name != module.id, module.path.name))
        for module in found:
            if module.id in modules:
                errors.append(
                    {
                        "path": str(module.path),
                        "error": f"module id {module.id!r} is already installed from "
                        f"{modules[module.id].path}; this folder is ignored",
                    }
                )
                continue
            modules[module.id] = module
        recent = root_mtime is not None and time.time() - root_mtime / 1e9 < _RECENT_SECONDS
        return _Snapshot(
            modules=modules,
            errors=tuple(errors),
            root_mtime=root_mtime,
            watched=tuple(watched),
            scanned_at=scanned_at,
            recent=recent,
        )

    def _folders(self) -> builtins.list[Path]:
        try:
            entries = sorted(os.scandir(self.root), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return []
        folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    folders.append(Path(entry.path))
            except OSError:
                continue
        return folders

    def _load(self, folder: Path) -> InstalledModule:
        manifest = Manifest.load(folder)
        expected = self.expected_deps_path(manifest, folder)
        ready = expected is not None and (
            requirements.is_installed(expected) if is_frozen() else envs.is_ready(expected)
        )
        return InstalledModule(
            manifest=manifest,
            path=folder,
            entrypoint_path=folder / manifest.entrypoint,
            deps_path=expected if ready else None,
            source=read_source(folder),
            requirements_pending=expected is not None and not ready,
        )

    # ----- housekeeping

    def _prune_deps(self, snapshot: _Snapshot) -> None:
        if not is_frozen():
            self.collect_environments()
        deps = self.root / requirements.DEPS_DIR_NAME
        if not deps.is_dir():
            return
        for child in deps.iterdir():
            module = snapshot.modules.get(child.name)
            if module is None:
                shutil.rmtree(child, ignore_errors=True)
            elif not module.requirements_pending:
                requirements.prune(self.root, module.id, module.deps_path)

    def _sweep_staging(self) -> None:
        """Remove staging folders left by an install that crashed long ago."""
        try:
            entries = list(os.scandir(self.root))
        except OSError:
            return
        now = time.time()
        for entry in entries:
            if not entry.name.startswith(STAGING_PREFIXES):
                continue
            try:
                old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_STAGING_SECONDS
            except OSError:
                continue
            if old:
                log.info("removing stale staging folder %s", entry.path)
                shutil.rmtree(entry.path, ignore_errors=True)
