"""A virtual environment per requirement set: what a module with a requirements.txt runs on.

`<data>/envs/<key>` is a virtual environment on the daemon's Python, built with uv (see
`sweatpants.modules.uv`). `key` hashes the module's requirements (comments and blank lines
dropped, lines sorted), the Python version and platform, and what the SDK needs beside them,
so modules with the same requirements share one environment and re-installing a module with
unchanged requirements runs no resolver at all.

What the SDK needs (httpx for `proxied_request`, websockets for `wait_for_callback` and
browser leases; Playwright for `get_browser` when the module declares the `browser` capability) is resolved together with the module's own
requirements: a module's pin wins, or the install fails with uv's explanation of the
conflict. The `sweatpants` package itself is not installed: a `.pth` file makes
`<data>/envs/.sdk` importable, a folder holding only a link to the daemon's `sweatpants`
package, so the runner and SDK in the job process are always the daemon's own (never
FastAPI, uvicorn or the daemon's other packages).

An environment is built under `.tmp-<key>-<random>` and renamed into place only once its
packages are installed, so a failed install leaves nothing half-made and the module's
previous environment untouched. Environments no installed module needs are removed by
`collect`, except while a job still runs on one (`sweatpants.jobs.envdir`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import secrets
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import sweatpants
from sweatpants.errors import InvalidInput
from sweatpants.jobs import envdir
from sweatpants.modules import process, uv
from sweatpants.modules.process import OutputLine

log = logging.getLogger(__name__)

ENVS_DIR_NAME = "envs"
SDK_DIR_NAME = ".sdk"
MARKER = "sweatpants-env.json"  # written last: an environment without it is not used
PTH_NAME = "_sweatpants_sdk.pth"
NEEDS_NAME = "sweatpants-needs.txt"
REQUIREMENTS_NAME = "requirements.txt"
STALE_BUILD_SECONDS = 3600.0
# What the SDK imports in a job process, with the lowest versions Sweatpants is tested with
# (pyproject.toml): httpx for proxied_request and callbacks (certifi comes with it), websockets
# for wait_for_callback and a browser lease; Playwright only for the browser capability.
SDK_NEEDS = ("httpx>=0.27", "websockets>=13.1")
BROWSER_NEEDS = ("playwright>=1.40",)


def normalized(text: str) -> list[str]:
    """The requirement lines that matter, in a stable order (comments and blanks dropped)."""
    lines = set()
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.add(" ".join(line.split()))
    return sorted(lines)


def sdk_needs(capabilities: Iterable[str]) -> list[str]:
    """What the SDK needs in the environment of a module with these capabilities."""
    needs = list(SDK_NEEDS)
    if "browser" in set(capabilities):
        needs += BROWSER_NEEDS
    return needs


def python_tag() -> str:
    """The Python an environment is built on: `cpython3.11-linux-x86_64`."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"{sys.implementation.name}{version}-{sys.platform}-{platform.machine()}"


def env_key(requirements: str, capabilities: Iterable[str]) -> str:
    """Names the environment of this requirement set on this Python and platform."""
    seed = "\n".join([python_tag(), *normalized(requirements), "--sdk--", *sdk_needs(capabilities)])
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:16]


def site_packages(env_dir: Path) -> Path:
    if os.name == "nt":
        return env_dir / "Lib" / "site-packages"
    return env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def is_ready(env_dir: Path) -> bool:
    return (env_dir / MARKER).is_file()


@dataclass(frozen=True)
class EnvRequest:
    """What to build: a module's requirements (its folder holds requirements.txt) and needs."""

    module_id: str
    module_dir: Path
    requirements: str
    capabilities: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return env_key(self.requirements, self.capabilities)


class Environments:
    """The environments under `<data>/envs`. Builds are serialised by the registry's lock."""

    def __init__(self, root: Path, *, timeout: float) -> None:
        self.root = root
        self.timeout = timeout

    def path(self, key: str) -> Path:
        return self.root / key

    # ----- building

    def ensure(
        self, request: EnvRequest, *, on_line: OutputLine | None = None, rebuild: bool = False
    ) -> Path:
        """The request's environment, built now unless it is there (or `rebuild`)."""
        say = on_line or (lambda line: None)
        target = self.path(request.key)
        if is_ready(target) and not rebuild:
            say(f"environment {request.key} is up to date: {target}")
            return target
        self.root.mkdir(parents=True, exist_ok=True)
        sdk = self.sdk_folder()
        building = self.root / f".tmp-{request.key}-{secrets.token_hex(4)}"
        started = time.monotonic()
        try:
            installer = self._build(request, building, sdk, say, fresh=rebuild)
            self._write_marker(request, building, installer)
            self._swap(building, target)
        finally:
            if building.exists():
                shutil.rmtree(building, ignore_errors=True)
        say(f"environment {request.key} ready in {time.monotonic() - started:.2f} s: {target}")
        return target

    def _build(
        self, request: EnvRequest, building: Path, sdk: Path, say: OutputLine, *, fresh: bool
    ) -> str:
        """Make the environment in `building`; the installer used. uv resolves from its cache
        alone first (no network: a second environment of known packages takes a fraction of
        a second) and asks the package index only if the cache lacks something, or when
        `fresh` (a rebuild: the index's newest versions)."""
        binary = uv.uv_binary()
        needs = building / NEEDS_NAME
        python = envdir.interpreter(building)
        what = f"the environment of module {request.module_id!r}"
        if binary is not None:
            env = uv.build_environment()
            self._step(
                [binary, "venv", "--relocatable", "--no-project", "--no-config", "--quiet",
                 "--python", sys.executable, str(building)],
                request, env, say, f"uv venv for {what}",
            )  # fmt: skip
            needs.write_text("\n".join(sdk_needs(request.capabilities)) + "\n", encoding="utf-8")
            install = [binary, "pip", "install", "--no-config", "--python", str(python)]
            installer = "uv"
        else:
            say(
                "WARNING: uv cannot run on this machine; building the environment with "
                "python -m venv and pip instead (slower, and every environment is a full copy)"
            )
            env = {k: v for k, v in os.environ.items() if k not in uv.DROPPED}
            env["PIP_NO_INPUT"] = "1"
            self._step([sys.executable, "-m", "venv", str(building)], request, env, say,
                       f"python -m venv for {what}")  # fmt: skip
            needs.write_text("\n".join(sdk_needs(request.capabilities)) + "\n", encoding="utf-8")
            install = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
            installer = "pip"
        requirements_file = request.module_dir / REQUIREMENTS_NAME
        needed = ", ".join(sdk_needs(request.capabilities))
        say(f"installing the requirements.txt of {request.module_id!r} with the SDK's {needed}")
        install += ["--requirement", str(requirements_file), "--requirement", str(needs)]
        if installer == "uv" and not fresh:
            from_cache: list[str] = []
            done = process.stream(
                [*install, "--offline"], timeout=self.timeout, on_line=from_cache.append,
                cwd=request.module_dir, env=env, what=f"uv install (from its cache) for {what}",
            )  # fmt: skip
            if done.ok:
                for line in from_cache:
                    say(line)
                say("resolved from uv's cache (no network)")
                install = []
            else:
                say("uv's cache lacks some of it: resolving against the package index")
        if install:
            self._step(install, request, env, say, f"{installer} install for {what}")
        (site_packages(building) / PTH_NAME).write_text(f"{sdk}\n", encoding="utf-8")
        return installer

    def _step(
        self, args: list[str], request: EnvRequest, env: dict[str, str], say: OutputLine, what: str
    ) -> None:
        done = process.stream(
            args, timeout=self.timeout, on_line=say, cwd=request.module_dir, env=env, what=what
        )
        if not done.ok:
            said = [line for line in done.tail(20).splitlines() if not line.startswith("Using ")]
            needs = sdk_needs(request.capabilities)
            names = {need.split(">=")[0] for need in needs}
            if any(name in line for line in said for name in names):
                said.append(
                    f"({', '.join(needs)}: what the Sweatpants SDK needs in every module "
                    "environment, resolved with the module's own requirements)"
                )
            raise InvalidInput(
                f"requirements.txt of module {request.module_id!r} cannot be installed "
                f"({what} failed):\n" + "\n".join(said),
                field=REQUIREMENTS_NAME,
            )

    def _write_marker(self, request: EnvRequest, building: Path, installer: str) -> None:
        marker = {
            "key": request.key,
            "python": ".".join(str(part) for part in sys.version_info[:3]),
            "python_tag": python_tag(),
            "requirements": normalized(request.requirements),
            "sdk_needs": sdk_needs(request.capabilities),
            "installer": installer,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (building / MARKER).write_text(json.dumps(marker, indent=1), encoding="utf-8")

    def _swap(self, building: Path, target: Path) -> None:
        """Rename the new environment into place; an old one (a rebuild) goes to the trash,
        removed by `collect` once no job runs on it."""
        if target.exists():
            trash = self.root / f".trash-{target.name}-{secrets.token_hex(4)}"
            os.rename(target, trash)
        os.rename(building, target)
        self.collect(keep=None)

    def sdk_folder(self) -> Path:
        """`<envs>/.sdk`: a folder whose only entry is the daemon's `sweatpants` package (a
        link to it; a copy where links cannot be made), kept pointing at the running one."""
        package = Path(sweatpants.__file__).resolve().parent
        folder = self.root / SDK_DIR_NAME
        link = folder / "sweatpants"
        folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            if link.is_symlink() and Path(os.readlink(link)) == package:
                return folder
        fresh = folder / f".link-{secrets.token_hex(4)}"
        try:
            fresh.symlink_to(package, target_is_directory=True)
            os.replace(fresh, link)
        except OSError:  # no symbolic links here (Windows without the privilege): a copy
            with contextlib.suppress(OSError):
                fresh.unlink()
            shutil.rmtree(link, ignore_errors=True)
            shutil.copytree(package, link, ignore=shutil.ignore_patterns("__pycache__"))
        return folder

    # ----- looking

    def describe(self, env_dir: Path) -> dict[str, Any]:
        """`env` of `GET /modules/{id}`: python, path, size, packages with versions, built_at."""
        try:
            marker = json.loads((env_dir / MARKER).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            marker = {}
        packages = sorted(
            (
                {"name": dist.metadata["Name"] or "?", "version": dist.version}
                for dist in metadata.distributions(path=[str(site_packages(env_dir))])
            ),
            key=lambda item: item["name"].lower(),
        )
        size, own = disk_usage(env_dir)
        return {
            "key": marker.get("key", env_dir.name),
            "path": str(env_dir),
            "python": marker.get("python"),
            "interpreter": str(envdir.interpreter(env_dir)),
            "installer": marker.get("installer"),
            "built_at": marker.get("built_at"),
            "size_bytes": size,
            "own_bytes": own,
            "requirements": marker.get("requirements", []),
            "sdk_needs": marker.get("sdk_needs", []),
            "packages": packages,
            "in_use": envdir.in_use(env_dir),
        }

    # ----- housekeeping

    def collect(self, keep: set[str] | None) -> list[str]:
        """Remove environments not in `keep` (None: only rebuilt and abandoned ones) that no
        job runs on; returns the names removed."""
        removed: list[str] = []
        try:
            entries = sorted(self.root.iterdir())
        except OSError:
            return removed
        now = time.time()
        for entry in entries:
            name = entry.name
            if name == SDK_DIR_NAME or not entry.is_dir():
                continue
            if name.startswith(".tmp-"):
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > STALE_BUILD_SECONDS:
                        shutil.rmtree(entry, ignore_errors=True)
                continue
            unused = name.startswith(".trash-") or (keep is not None and name not in keep)
            if unused and not envdir.in_use(entry):
                log.info("removing unused module environment %s", entry)
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(name)
        return removed


def pinned(env_dir: Path) -> list[str]:
    """`name==version` for every package installed in the environment."""
    found = {
        (dist.metadata["Name"] or "").strip(): dist.version
        for dist in metadata.distributions(path=[str(site_packages(env_dir))])
    }
    return [f"{name}=={version}" for name, version in sorted(found.items()) if name]


def disk_usage(folder: Path) -> tuple[int, int]:
    """(bytes of every file, bytes of the files only this folder links to): packages uv
    linked from its cache are shared with the cache and with other environments."""
    total = own = 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += info.st_size
            if info.st_nlink <= 1:
                own += info.st_size
    return total, own
