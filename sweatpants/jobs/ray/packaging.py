"""A job's Ray runtime_env: the module's folder, this sweatpants, the module's requirements.

Ray accepts local folders in a runtime_env only for a whole driver (`ray.init`); for one
actor it wants package URIs. So the folders are packed and uploaded to the cluster's GCS with
the very functions `ray.init` uses (content-addressed: an unchanged folder is not sent
twice), and the actor gets `gcs://` URIs: `working_dir` for the module (the actor's cwd and
first on its path), `py_modules` for the `sweatpants` package the runner needs (the daemon's
own version, so both sides speak the same protocol), and `pip` for its requirements.txt
(Ray builds a virtualenv per distinct set on each node and caches it).

The `pip` list is the set the module's local environment was built from: its requirements
plus what the SDK needs (`sweatpants.modules.envs.sdk_needs`); once that environment is
built here, every package in it is pinned at the version it has here, so the module runs
with the same versions locally and on the cluster. Ray's `pip` virtualenv also sees the
node's own packages, which is how a cluster without access to a package index still finds
the SDK's httpx (Ray's `uv` plugin ignores them, so it is not used).
"""

from __future__ import annotations

import inspect
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import sweatpants
from sweatpants.jobs import envdir
from sweatpants.modules import envs
from sweatpants.modules.manifest import Manifest
from sweatpants.modules.requirements import requirements_text

MODULE_EXCLUDES = ["__pycache__", "*.pyc", ".git"]
PACKAGE_EXCLUDES = ["__pycache__", "*.pyc"]

log = logging.getLogger(__name__)


def requirement_lines(text: str) -> list[str]:
    """requirements.txt as Ray's `pip` list (option lines such as --find-links kept)."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def cluster_requirements(module_dir: Path, deps_path: str | None) -> list[str] | None:
    """The `pip` list of a module's runtime_env: None without requirements."""
    text = requirements_text(module_dir)
    if text is None:
        return None
    lines = requirement_lines(text)
    if deps_path is not None and envdir.is_environment(deps_path):
        options = [line for line in lines if line.startswith("-")]
        return options + envs.pinned(Path(deps_path))
    return lines + envs.sdk_needs(Manifest.load(module_dir).capabilities)


def _upload(function: Any, runtime_env: dict[str, Any], scratch: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"scratch_dir": scratch, "logger": log}
    if "include_gitignore" in inspect.signature(function).parameters:
        kwargs["include_gitignore"] = False
    result: dict[str, Any] = function(runtime_env, **kwargs)
    return result


class Packages:
    """Uploads folders for runtime_envs (runs in the bridge, which is a Ray driver)."""

    def __init__(self) -> None:
        self._scratch = tempfile.mkdtemp(prefix="sweatpants-ray-")
        self._sweatpants_uri: str | None = None

    def cleanup(self) -> None:
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _sweatpants(self) -> str:
        if self._sweatpants_uri is None:
            from ray._private.runtime_env.py_modules import upload_py_modules_if_needed

            package_dir = str(Path(sweatpants.__file__).parent)
            env = {"py_modules": [package_dir], "excludes": PACKAGE_EXCLUDES}
            uploaded = _upload(upload_py_modules_if_needed, env, self._scratch)
            self._sweatpants_uri = uploaded["py_modules"][0]
        return self._sweatpants_uri

    def runtime_env(self, spec: dict[str, Any]) -> dict[str, Any]:
        from ray._private.runtime_env.working_dir import upload_working_dir_if_needed

        module_dir = spec["module_dir"]
        env = {"working_dir": module_dir, "excludes": MODULE_EXCLUDES}
        uploaded = _upload(upload_working_dir_if_needed, env, self._scratch)
        runtime_env: dict[str, Any] = {
            "working_dir": uploaded["working_dir"],
            "py_modules": [self._sweatpants()],
            "env_vars": {"PYTHONUNBUFFERED": "1"},
        }
        packages = cluster_requirements(Path(module_dir), spec.get("deps_path"))
        if packages is not None:
            runtime_env["pip"] = {"packages": packages, "pip_check": False}
        return runtime_env
