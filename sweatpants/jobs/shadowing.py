"""Which of a module's requirements its job cannot use: packages imported before it loaded.

Only in the standalone app: a module's requirements there go to a folder put first on
`sys.path` of a job forked from the daemon's own fork server (everywhere else the job runs on
the module's own environment, where its pins win: `sweatpants.modules.envs`). That process has
already imported the runner, the SDK and `forkserver.PRELOAD` (httpx, with what importing
httpx loads: idna, and click and pygments where they are installed), and Python imports a
module once per process: a module whose requirements.txt pins `httpx==0.27.0` would get the
daemon's httpx from `import httpx`. Packages that were not imported yet do come from the folder.

The runner says so in the job's log: one WARNING per pinned distribution whose package was
already imported at another version. `python -m sweatpants.jobs.preloaded` lists what a job
process starts with. Runs in the job process: imports nothing of the daemon.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from types import ModuleType


def _location(module: ModuleType) -> Path | None:
    """Where an imported module was loaded from (its file, or a namespace package's folder)."""
    where = getattr(module, "__file__", None)
    if where is None:
        where = next(iter(getattr(module, "__path__", None) or []), None)
    return Path(where).resolve() if where else None


def _top_level_names(dist: metadata.Distribution) -> set[str]:
    """The import names a distribution provides (`top_level.txt`, else its file list)."""
    listed = dist.read_text("top_level.txt")
    if listed:
        return {line.strip() for line in listed.splitlines() if line.strip()}
    names = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first in ("..", "__pycache__", "bin") or first.endswith((".dist-info", ".data")):
            continue
        if len(file.parts) > 1 or first.endswith((".py", ".so", ".pyd")):
            names.add(first.split(".")[0])
    return names


def _version_elsewhere(name: str, deps: Path) -> str | None:
    """The version of distribution `name` found on sys.path outside the module's folder."""
    others = [entry for entry in sys.path if entry and Path(entry).resolve() != deps]
    found = next(iter(metadata.distributions(name=name, path=others)), None)
    return found.version if found is not None else None


def shadowed(deps_path: str, loaded: dict[str, ModuleType] | None = None) -> list[str]:
    """A warning for each distribution in the module's requirements folder whose package is
    already imported (in `loaded`, default `sys.modules`) from somewhere else at another
    version: the module will get that copy, not the one it pinned."""
    modules = sys.modules if loaded is None else loaded
    deps = Path(deps_path).resolve()
    warnings = []
    for dist in metadata.distributions(path=[str(deps)]):
        name = dist.metadata["Name"] or "?"
        for top in sorted(_top_level_names(dist)):
            module = modules.get(top)
            where = _location(module) if module is not None else None
            if where is None or where.is_relative_to(deps):
                continue
            running = _version_elsewhere(name, deps)
            if running == dist.version:
                break  # the same version: nothing differs
            warnings.append(_warning(name, dist.version, running, top, where.parent))
            break
    return warnings


def _warning(name: str, wanted: str, running: str | None, top: str, where: Path) -> str:
    used = f"{name} {running}" if running else f"another copy of {top!r}"
    text = (
        f"requirements.txt installs {name} {wanted} for this module, but this job uses {used} "
        f"from {where}: the job process had imported {top!r} before the module was loaded (it "
        "starts with the daemon's httpx and what httpx imports), and Python imports a package "
        "only once per process."
    )
    if running:
        text += f" Require {name}=={running} (the daemon's version) or drop the requirement."
    return text


def preloaded(loaded: Iterable[str] | None = None) -> dict[str, str]:
    """Third-party packages a job process has imported before its module loads: import
    name -> "distribution version"."""
    names = sorted(
        {name.split(".")[0] for name in (sys.modules if loaded is None else loaded)}
        - set(sys.stdlib_module_names)
        - {"sweatpants"}
    )
    providers = metadata.packages_distributions()
    shown = {}
    for name in names:
        if name.startswith("_"):
            continue  # import hooks set up at start-up (setuptools' _distutils_hack, ...)
        dists = providers.get(name)
        if not dists:
            continue  # an import hook or a helper module, not a package a module could pin
        shown[name] = f"{dists[0]} {metadata.version(dists[0])}"
    return shown
