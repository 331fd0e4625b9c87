"""Per-module requirements, each set in an environment of its own: two local wheels of one
package, found through `--find-links` (what the SDK needs comes from the registry, or uv's
cache)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import subprocess
import zipfile
from pathlib import Path

import pytest

from sweatpants.config import Settings
from sweatpants.jobs import envdir
from sweatpants.modules import ModuleRegistry, install_from_folder
from sweatpants.modules.envs import ENVS_DIR_NAME
from tests.support.modules import write_module

CODE = """
import spdemo
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"spdemo": spdemo.VERSION}
"""


def build_wheel(folder: Path, version: str) -> Path:
    """A minimal pure-Python wheel of `spdemo` whose module says which version it is."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"spdemo-{version}.dist-info"
    files = {
        "spdemo/__init__.py": f'VERSION = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: spdemo\nVersion: {version}\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: sweatpants-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        data = text.encode()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"spdemo-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheels")
    build_wheel(folder, "1.0")
    build_wheel(folder, "2.0")
    return folder


def offline(wheels: Path, requirement: str) -> str:
    """Requirements that find `spdemo` only in `wheels` (the standalone app's pip: offline)."""
    return f"--no-index\n--find-links {wheels}\n{requirement}\n"


def local_wheels(wheels: Path, requirement: str) -> str:
    """Requirements that find `spdemo` in `wheels`, and the SDK's needs in the registry."""
    return f"--find-links {wheels}\n{requirement}\n"


def imported_version(env: Path) -> str:
    """Import spdemo the way a job does: on the environment's own interpreter."""
    done = subprocess.run(
        [str(envdir.interpreter(env)), "-c", "import spdemo; print(spdemo.VERSION)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.mark.slow
def test_two_modules_two_versions(tmp_path: Path, wheels: Path) -> None:
    registry = ModuleRegistry(Settings(data_dir=tmp_path / "data"))
    one = write_module(
        tmp_path / "src", "uses-v1", CODE, requirements=local_wheels(wheels, "spdemo==1.0")
    )
    two = write_module(
        tmp_path / "src", "uses-v2", CODE, requirements=local_wheels(wheels, "spdemo==2.0")
    )
    first = install_from_folder(registry, one)
    second = install_from_folder(registry, two)
    assert first.deps_path is not None and second.deps_path is not None
    assert first.deps_path != second.deps_path
    assert first.deps_path.parent == tmp_path / "data" / ENVS_DIR_NAME
    assert imported_version(first.deps_path) == "1.0"
    assert imported_version(second.deps_path) == "2.0"
    assert first.to_summary()["requirements"] == "installed"
    # The daemon's own environment is untouched.
    assert importlib.util.find_spec("spdemo") is None

    # The requirements of uses-v2: its environment, shared; the old one is removed.
    (one / "requirements.txt").write_text(local_wheels(wheels, "spdemo==2.0"))
    updated = install_from_folder(registry, one)
    assert updated.deps_path == second.deps_path
    assert imported_version(updated.deps_path) == "2.0"
    assert not first.deps_path.exists()

    # A failing resolver keeps the last good install and says what it said.
    (one / "requirements.txt").write_text(local_wheels(wheels, "spdemo==3.0"))
    with pytest.raises(Exception) as caught:
        install_from_folder(registry, one)
    assert "spdemo==3.0" in str(caught.value)
    assert registry.get("uses-v1").deps_path == updated.deps_path


@pytest.mark.slow
def test_hand_placed_module_gets_requirements_at_reload(tmp_path: Path, wheels: Path) -> None:
    registry = ModuleRegistry(Settings(data_dir=tmp_path / "data"))
    registry.root.mkdir(parents=True)
    write_module(registry.root, "dropped", CODE, requirements=local_wheels(wheels, "spdemo==1.0"))
    pending = registry.get("dropped")
    assert pending.requirements_pending is True
    assert pending.deps_path is None
    assert pending.to_summary()["requirements"] == "pending"
    report = registry.reload()
    assert report.errors == []
    ready = registry.get("dropped")
    assert ready.requirements_pending is False
    assert ready.deps_path is not None
    assert imported_version(ready.deps_path) == "1.0"
