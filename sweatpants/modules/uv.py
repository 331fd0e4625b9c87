"""How module environments are built: with uv, told what pip on this machine is told.

uv (the `uv` wheel, a dependency of Sweatpants) makes a virtual environment in a fraction of
a second and links packages from its cache, so a second environment with the same packages
costs little disk. It does not read pip's configuration, though: a machine whose pip is set
up for a private index, extra indexes, local wheels, a corporate CA or a constraints file
(`pip config list`, `PIP_*` variables) would build module environments from somewhere else.
`uv_environment` passes pip's settings on as uv's own variables, unless the user set those.

Where uv cannot run (no binary for this platform), `python -m venv` + pip build the
environment instead, with a WARNING in the install log: slower, and every environment is
a full copy.
"""

from __future__ import annotations

import ast
import functools
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger(__name__)

PIP_CONFIG_SECONDS = 30.0
UV_PROBE_SECONDS = 30.0

# pip's setting → (uv's variable, how uv separates several values). Sections later in
# PIP_SECTIONS win (pip's own order: global, then install, then the environment).
PIP_SECTIONS = ("global", "install", ":env:")
PIP_TO_UV = {
    "index-url": ("UV_DEFAULT_INDEX", " "),
    "extra-index-url": ("UV_INDEX", " "),
    "find-links": ("UV_FIND_LINKS", ","),
    "constraint": ("UV_CONSTRAINT", " "),
    "trusted-host": ("UV_INSECURE_HOST", " "),
    "timeout": ("UV_HTTP_TIMEOUT", " "),
    "default-timeout": ("UV_HTTP_TIMEOUT", " "),
}
# Each of uv's variables that one of pip's settings maps to also counts as "already set" when
# uv's older spelling of it is.
UV_ALIASES = {
    "UV_DEFAULT_INDEX": ("UV_INDEX_URL",),
    "UV_INDEX": ("UV_EXTRA_INDEX_URL",),
}
# Variables of the daemon's process that must not reach a build (they point pip or Python at
# the daemon's own packages, or at a target folder).
DROPPED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
    "PIP_ROOT",
    "PIP_REQUIRE_VIRTUALENV",
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "UV_SYSTEM_PYTHON",
)


@functools.cache
def uv_binary() -> str | None:
    """The uv executable of the installed `uv` wheel, if it runs here; None otherwise."""
    try:
        import uv  # the wheel's helper package: finds the binary it shipped
    except ImportError:
        return None
    try:
        binary = uv.find_uv_bin()
    except FileNotFoundError:
        return None
    try:
        probe = subprocess.run(
            [binary, "--version"], capture_output=True, timeout=UV_PROBE_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return str(binary) if probe.returncode == 0 else None


def parse_pip_config(text: str) -> dict[str, str]:
    """`pip config list` output (`section.key='value'` lines) → pip's effective settings."""
    found: dict[tuple[str, str], str] = {}
    for line in text.splitlines():
        name, sep, raw = line.partition("=")
        if not sep or "." not in name:
            continue
        section, _, key = name.rpartition(".")
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip().strip("'\"")
        found[(section, key)] = str(value)
    settings: dict[str, str] = {}
    for section in PIP_SECTIONS:
        for (where, key), value in found.items():
            if where == section:
                settings[key] = value
    return settings


@functools.cache
def pip_settings() -> Mapping[str, str]:
    """This machine's pip settings (config files and PIP_* variables), read once per process."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=PIP_CONFIG_SECONDS,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_pip_config(done.stdout) if done.returncode == 0 else {}


def _split(value: str) -> list[str]:
    return [part for part in value.replace("\n", " ").split(" ") if part.strip()]


def uv_environment(base: Mapping[str, str], pip: Mapping[str, str]) -> dict[str, str]:
    """The environment for a uv build: `base` without DROPPED, plus pip's settings as uv's
    variables wherever the user has not set uv's own."""
    env = {key: value for key, value in base.items() if key not in DROPPED}
    for key, (variable, separator) in PIP_TO_UV.items():
        value = pip.get(key)
        if not value or any(name in env for name in (variable, *UV_ALIASES.get(variable, ()))):
            continue
        env[variable] = separator.join(_split(value)) if separator == "," else value
    cert = pip.get("cert")
    if cert and "SSL_CERT_FILE" not in env and Path(cert).is_file():
        env["SSL_CERT_FILE"] = cert
    if "UV_INDEX" in env and "UV_INDEX_STRATEGY" not in env and pip.get("extra-index-url"):
        # pip picks the best version across all its indexes; uv's default takes the first
        # index that has the package at all, which would hide the others' versions.
        env["UV_INDEX_STRATEGY"] = "unsafe-best-match"
    env.setdefault("UV_NO_PROGRESS", "1")
    return env


def build_environment() -> dict[str, str]:
    """`uv_environment` for this process's environment and this machine's pip."""
    return uv_environment(os.environ, pip_settings())
