"""Sync installed modules from the sources listed in modules.yaml (the earlier engine's format).

```yaml
module_sources:
  - repo: https://github.com/org/modules.git   # a git URL (https, ssh, scp-style, file://)
    modules: [scraper, tools/resizer]          # module ids or subfolders; omit for the root
    branch: main                               # optional
  - repo: ~/dev/my-module                      # or a local folder (also `path:`)
```

Every source is tried, whatever happened to the others; the report lists what was
installed, what failed (with the error) and what was skipped because it has not changed
since it was installed: same git commit (asked with `git ls-remote`, so an unchanged
source is not even cloned), or same content hash for a local folder. A missing modules.yaml
is not an error: the report is empty and says `config_found: false`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from sweatpants.config import redact_url
from sweatpants.errors import InvalidInput, SweatpantsError
from sweatpants.modules import git
from sweatpants.modules.install import fetched, install_from_folder, locate_module
from sweatpants.modules.process import OutputLine
from sweatpants.modules.registry import InstalledModule, ModuleRegistry
from sweatpants.modules.sources import folder_hash

log = logging.getLogger(__name__)


@dataclass
class SyncReport:
    """`POST /modules/sync`: `installed`, `failed`, `skipped`, plus which file was read."""

    config_path: str
    config_found: bool = True
    installed: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "installed": self.installed,
            "failed": self.failed,
            "skipped": self.skipped,
            "config_path": self.config_path,
            "config_found": self.config_found,
        }


@dataclass(frozen=True)
class Source:
    """One entry of `module_sources`: a git URL or a local folder, and what to take from it."""

    label: str
    url: str | None = None
    folder: Path | None = None
    modules: tuple[str, ...] = ()
    branch: str | None = None

    @property
    def requests(self) -> tuple[str | None, ...]:
        """The modules to install: subfolders or ids; `None` stands for the root."""
        return self.modules or (None,)


def read_config(path: Path) -> list[Source | dict[str, Any]] | None:
    """The sources of a modules.yaml (a dict for an entry that is malformed), or None."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InvalidInput(
            f"{path}: cannot be read ({exc.strerror})", field="modules_config"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(
            f"{path}: not valid YAML{where} ({problem})", field="modules_config"
        ) from None
    if data is None:
        return []
    entries = data.get("module_sources") if isinstance(data, dict) else data
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InvalidInput(
            f"{path}: field 'module_sources' must be a list of {{repo, modules}} entries",
            field="module_sources",
        )
    return [_parse_entry(entry, index, path.parent) for index, entry in enumerate(entries)]


def _parse_entry(entry: Any, index: int, base: Path) -> Source | dict[str, Any]:
    label = f"module_sources[{index}]"
    if isinstance(entry, str):
        entry = {"repo": entry}
    if not isinstance(entry, dict):
        return {"source": label, "error": f"{label} must be an object with 'repo'"}
    location = entry.get("repo") or entry.get("url") or entry.get("path")
    if not isinstance(location, str) or not location.strip():
        return {
            "source": label,
            "error": f"{label}: field 'repo' is required (a git URL or folder)",
        }
    location = location.strip()
    modules = entry.get("modules")
    if modules is None:
        modules = []
    if isinstance(modules, str):
        modules = [modules]
    if not isinstance(modules, list) or not all(isinstance(m, str) and m.strip() for m in modules):
        return {"source": location, "error": f"{label}: field 'modules' must be a list of names"}
    branch = entry.get("branch") or entry.get("ref")
    if branch is not None and not isinstance(branch, str):
        return {"source": location, "error": f"{label}: field 'branch' must be a string"}
    names = tuple(m.strip() for m in modules)
    if "path" not in entry and git.is_git_url(location):
        return Source(label=redact_url(location), url=location, modules=names, branch=branch)
    folder = Path(location).expanduser()
    if not folder.is_absolute():
        folder = base / folder
    return Source(label=str(folder), folder=folder, modules=names)


def sync_modules(
    registry: ModuleRegistry, config_path: Path | None = None, on_line: OutputLine | None = None
) -> SyncReport:
    """Install or update every module listed in modules.yaml. Blocking: call it in a thread.
    `on_line` receives what the resolver and installer print for each module's environment."""
    path = config_path or registry.settings.modules_config
    report = SyncReport(config_path=str(path))
    sources = read_config(path)
    if sources is None:
        report.config_found = False
        return report
    for source in sources:
        if isinstance(source, dict):
            report.failed.append(source)
            continue
        try:
            if source.url is not None:
                _sync_git(registry, source, report, on_line)
            else:
                _sync_folder(registry, source, report, on_line)
        except Exception as exc:  # one broken source must not stop the others
            log.exception("sync of %s failed", source.label)
            report.failed.append({"source": source.label, "error": _message(exc)})
    return report


def _sync_git(
    registry: ModuleRegistry, source: Source, report: SyncReport, on_line: OutputLine | None
) -> None:
    assert source.url is not None
    try:
        head = git.remote_head(source.url, branch=source.branch, timeout=registry.git_timeout)
    except SweatpantsError as exc:
        report.failed.append({"source": source.label, "error": exc.detail})
        return
    pending: list[str | None] = []
    for request in source.requests:
        current = _installed_from(registry, "url", source.label, request or "")
        if current is not None and current.source and current.source.get("commit") == head:
            report.skipped.append(_skip(current, source, f"unchanged at commit {head[:12]}"))
        else:
            pending.append(request)
    if not pending:
        return
    try:
        with fetched(registry, source.url, branch=source.branch) as (repo, commit):
            for request in pending:
                install = partial(_install_git, registry, source, repo, commit, request, on_line)
                _attempt(report, source, request, install)
    except SweatpantsError as exc:
        for request in pending:
            report.failed.append(_failure(source, request, exc.detail))


def _install_git(
    registry: ModuleRegistry,
    source: Source,
    repo: Path,
    commit: str,
    request: str | None,
    on_line: OutputLine | None,
) -> InstalledModule:
    folder, subdir = locate_module(repo, request, field="modules")
    record = {
        "kind": "git",
        "url": source.label,
        "request": request or "",
        "subdir": subdir,
        "commit": commit,
    }
    if source.branch is not None:
        record["branch"] = source.branch
    return install_from_folder(registry, folder, source=record, field="modules", on_line=on_line)


def _sync_folder(
    registry: ModuleRegistry, source: Source, report: SyncReport, on_line: OutputLine | None
) -> None:
    assert source.folder is not None
    if not source.folder.is_dir():
        report.failed.append(
            {
                "source": source.label,
                "error": f"{source.label} is neither an existing folder nor a git URL "
                "(https://, ssh://, user@host:path, file://)",
            }
        )
        return
    for request in source.requests:
        install = partial(_install_local, registry, source, request, on_line)
        _attempt(report, source, request, install)


def _install_local(
    registry: ModuleRegistry, source: Source, request: str | None, on_line: OutputLine | None
) -> InstalledModule | dict[str, Any]:
    assert source.folder is not None
    folder, _ = locate_module(source.folder, request, field="modules")
    folder = folder.resolve()
    digest = folder_hash(folder)
    current = _installed_from(registry, "path", str(folder), None)
    if current is not None and current.source and current.source.get("hash") == digest:
        return _skip(current, source, "unchanged since it was installed")
    record = {"kind": "path", "path": str(folder), "hash": digest}
    return install_from_folder(registry, folder, source=record, field="modules", on_line=on_line)


def _attempt(
    report: SyncReport,
    source: Source,
    request: str | None,
    action: Callable[[], InstalledModule | dict[str, Any]],
) -> None:
    try:
        outcome = action()
    except Exception as exc:  # report it and go on with the next module
        if not isinstance(exc, SweatpantsError):
            log.exception("installing %s from %s failed", request or "(root)", source.label)
        report.failed.append(_failure(source, request, _message(exc)))
        return
    if isinstance(outcome, dict):
        report.skipped.append(outcome)
    else:
        manifest = outcome.manifest
        report.installed.append(
            {
                "id": manifest.id,
                "name": manifest.name,
                "version": manifest.version,
                "source": source.label,
            }
        )


def _installed_from(
    registry: ModuleRegistry, key: str, location: str, request: str | None
) -> InstalledModule | None:
    for module in registry.list():
        record = module.source or {}
        if record.get(key) != location:
            continue
        if request is None:
            return module
        # The same module, however it was asked for: by the same words, subfolder or id.
        if request in (record.get("request", ""), record.get("subdir", "")) or (
            request and request == module.id
        ):
            return module
    return None


def _skip(module: InstalledModule, source: Source, reason: str) -> dict[str, Any]:
    return {"id": module.id, "source": source.label, "reason": reason}


def _failure(source: Source, request: str | None, error: str) -> dict[str, Any]:
    failure: dict[str, Any] = {"source": source.label, "error": error}
    if request is not None:
        failure["module"] = request
    return failure


def _message(exc: BaseException) -> str:
    if isinstance(exc, SweatpantsError):
        return exc.detail
    return f"{type(exc).__name__}: {exc}"
