"""Modules: the module.json model, the installed-module registry, install / git / sync.

The engine holds one `ModuleRegistry(settings)`; routes call the install functions (blocking:
run them in a thread). See docs/modules.md for how to write and install a module.
"""

from sweatpants.modules.example import ensure_example_installed
from sweatpants.modules.ids import check_module_id
from sweatpants.modules.install import install_from_folder, install_from_git, uninstall
from sweatpants.modules.manifest import Field, Manifest
from sweatpants.modules.registry import InstalledModule, ModuleRegistry, ReloadReport
from sweatpants.modules.sync import SyncReport, sync_modules

__all__ = [
    "Field",
    "InstalledModule",
    "Manifest",
    "ModuleRegistry",
    "ReloadReport",
    "SyncReport",
    "check_module_id",
    "ensure_example_installed",
    "install_from_folder",
    "install_from_git",
    "sync_modules",
    "uninstall",
]
