"""The bundled example module, installed once on the first start so a new user can run a job.

A marker file in the data directory remembers which examples were offered, so an example the
user uninstalled is not installed again at the next start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from sweatpants.errors import SweatpantsError
from sweatpants.modules.install import install_from_folder
from sweatpants.modules.registry import InstalledModule, ModuleRegistry
from sweatpants.paths import examples_dir

log = logging.getLogger(__name__)

EXAMPLE_ID = "hello"
MARKER_NAME = "examples-offered.json"


def example_path(name: str = EXAMPLE_ID) -> Path:
    """The folder of a bundled example (package, source checkout or app bundle)."""
    return examples_dir() / name


def ensure_example_installed(registry: ModuleRegistry) -> InstalledModule | None:
    """Install the `hello` example unless it was offered before; returns it when installed.

    A failure is logged, not raised (start-up goes on), and is retried at the next start.
    """
    marker = registry.settings.data_dir / MARKER_NAME
    offered = _read_marker(marker)
    if EXAMPLE_ID in offered:
        return None
    installed: InstalledModule | None = None
    if registry.find(EXAMPLE_ID) is None:
        source = example_path()
        try:
            installed = install_from_folder(
                registry, source, source={"kind": "example", "path": str(source)}
            )
        except (SweatpantsError, OSError) as exc:
            log.warning("could not install the example module %r: %s", EXAMPLE_ID, exc)
            return None
    offered.append(EXAMPLE_ID)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"offered": offered}, indent=2), encoding="utf-8")
    return installed


def _read_marker(marker: Path) -> list[str]:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    offered = data.get("offered") if isinstance(data, dict) else None
    return [str(name) for name in offered] if isinstance(offered, list) else []
