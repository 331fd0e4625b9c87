"""Registry and folder installs: real folders in a temp modules directory."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from sweatpants.config import Settings
from sweatpants.errors import InvalidInput, NotFound
from sweatpants.modules import (
    ModuleRegistry,
    ensure_example_installed,
    install_from_folder,
    uninstall,
)
from sweatpants.modules.sources import SOURCE_FILE
from tests.support.daemon import wait_for
from tests.support.modules import write_module

CODE = """
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"ok": True}
"""


@pytest.fixture
def registry(tmp_path: Path) -> ModuleRegistry:
    return ModuleRegistry(Settings(data_dir=tmp_path / "data"))


def test_empty_registry(registry: ModuleRegistry) -> None:
    assert registry.count() == 0
    assert registry.list() == []
    with pytest.raises(NotFound) as caught:
        registry.get("nope")
    assert caught.value.detail == "module 'nope' is not installed"
    with pytest.raises(InvalidInput):
        registry.get("../etc")


def test_install_from_folder(registry: ModuleRegistry, tmp_path: Path) -> None:
    source = write_module(tmp_path / "src", "greeter", CODE, version="1.2.0")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "junk.pyc").write_bytes(b"x")
    (source / ".git").mkdir()
    module = install_from_folder(registry, source)
    assert module.id == "greeter"
    assert module.path == registry.root / "greeter"
    assert module.entrypoint_path == registry.root / "greeter" / "main.py"
    assert module.deps_path is None
    assert module.source is not None
    assert module.source["kind"] == "path"
    assert module.source["path"] == str(source.resolve())
    assert not (module.path / "__pycache__").exists()
    assert not (module.path / ".git").exists()
    assert registry.count() == 1
    summary = module.to_summary()
    assert summary["id"] == "greeter"
    assert summary["version"] == "1.2.0"
    assert summary["path"] == str(module.path)
    assert summary["source"] == str(source.resolve())
    assert registry.get("greeter").to_dict()["inputs"] == []
    # The source folder is untouched and independent of the copy.
    (source / "main.py").write_text("# changed\n")
    assert "changed" not in (module.path / "main.py").read_text()


def test_install_refuses_bad_sources(registry: ModuleRegistry, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        install_from_folder(registry, tmp_path / "missing")
    assert caught.value.field == "source_path"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as caught:
        install_from_folder(registry, tmp_path / "empty")
    assert "module.json" in caught.value.detail
    evil = write_module(tmp_path / "src", "evil", CODE)
    manifest = json.loads((evil / "module.json").read_text())
    manifest["id"] = "../../escape"
    (evil / "module.json").write_text(json.dumps(manifest))
    with pytest.raises(InvalidInput) as caught:
        install_from_folder(registry, evil)
    assert caught.value.field == "id"
    # The data directory holds the modules directory: copying it would recurse.
    registry.root.mkdir(parents=True, exist_ok=True)
    write_module(registry.settings.data_dir.parent, "data", CODE)
    with pytest.raises(InvalidInput) as caught:
        install_from_folder(registry, registry.settings.data_dir)
    assert "contains the modules folder" in caught.value.detail
    assert not (registry.root / ".." / ".." / "escape").exists()
    assert [p.name for p in registry.root.iterdir()] == []


def test_replace_is_atomic_and_keeps_old_on_failure(
    registry: ModuleRegistry, tmp_path: Path
) -> None:
    v1 = write_module(tmp_path / "v1", "thing", CODE, version="1.0.0")
    install_from_folder(registry, v1)
    v2 = write_module(tmp_path / "v2", "thing", CODE, version="2.0.0")
    assert install_from_folder(registry, v2).manifest.version == "2.0.0"
    assert registry.get("thing").manifest.version == "2.0.0"
    # A v3 whose requirements cannot be installed fails after the copy: v2 stays.
    v3 = write_module(
        tmp_path / "v3",
        "thing",
        CODE,
        version="3.0.0",
        requirements=f"{tmp_path / 'no-such-package-dir'}\n",
    )
    with pytest.raises(InvalidInput) as caught:
        install_from_folder(registry, v3)
    assert caught.value.field == "requirements.txt"
    assert "cannot be installed" in caught.value.detail
    assert "no-such-package-dir" in caught.value.detail
    assert registry.get("thing").manifest.version == "2.0.0"
    assert json.loads((registry.root / "thing" / "module.json").read_text())["version"] == "2.0.0"
    leftovers = [p.name for p in registry.root.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def test_uninstall(registry: ModuleRegistry, tmp_path: Path) -> None:
    install_from_folder(registry, write_module(tmp_path / "src", "gone", CODE))
    assert uninstall(registry, "gone") == {"id": "gone", "uninstalled": True}
    assert registry.count() == 0
    assert not (registry.root / "gone").exists()
    with pytest.raises(NotFound):
        uninstall(registry, "gone")
    for hostile in ("../x", "..", ".deps", "a/b", "-rf"):
        with pytest.raises(InvalidInput):
            uninstall(registry, hostile)


def test_hand_dropped_folders_are_picked_up(registry: ModuleRegistry, tmp_path: Path) -> None:
    assert registry.count() == 0
    registry.root.mkdir(parents=True, exist_ok=True)
    # Made in two steps, as a slow copy would: the folder first, its files later.
    folder = registry.root / "dropped"
    folder.mkdir()
    assert registry.count() == 0
    write_module(registry.root, "dropped", CODE)
    wait_for(lambda: registry.count() == 1, 5, what="the registry to notice")
    assert registry.get("dropped").source is None
    # A broken one is reported and does not hide the good one.
    broken = registry.root / "broken"
    broken.mkdir()
    (broken / "module.json").write_text('{"id": "broken", "name": ')
    wait_for(lambda: len(registry.errors()) == 1, 5, what="the broken module")
    assert registry.count() == 1
    report = registry.reload()
    assert [m.id for m in report.modules] == ["dropped"]
    assert report.errors[0]["path"] == str(broken)
    assert "not valid JSON" in report.errors[0]["error"]
    # Fixing it in place is noticed (its module.json is watched).
    write_module(registry.root, "broken", CODE)
    wait_for(lambda: registry.count() == 2, 5, what="the fixed module")
    assert registry.errors() == []
    # Removing a folder by hand drops it.
    os.rename(registry.root / "dropped", registry.root / ".hidden-now")
    wait_for(lambda: registry.count() == 1, 5, what="the registry to notice")


def test_reload_sees_edits_inside_a_module(registry: ModuleRegistry, tmp_path: Path) -> None:
    module = install_from_folder(registry, write_module(tmp_path / "src", "edit", CODE))
    generation = registry.generation
    manifest = json.loads((module.path / "module.json").read_text())
    manifest["version"] = "9.9.9"
    (module.path / "module.json").write_text(json.dumps(manifest))
    report = registry.reload()
    assert [m.manifest.version for m in report.modules] == ["9.9.9"]
    assert registry.generation == generation + 1


def test_two_folders_claiming_one_id(registry: ModuleRegistry, tmp_path: Path) -> None:
    registry.root.mkdir(parents=True)
    write_module(registry.root, "twin", CODE)
    other = write_module(registry.root, "copy-of-twin", CODE)
    manifest = json.loads((other / "module.json").read_text())
    manifest["id"] = "twin"
    (other / "module.json").write_text(json.dumps(manifest))
    report = registry.reload()
    assert [m.path.name for m in report.modules] == ["twin"]
    assert "already installed" in report.errors[0]["error"]


def test_reads_run_while_installs_happen(registry: ModuleRegistry, tmp_path: Path) -> None:
    sources = [write_module(tmp_path / f"s{i}", f"mod{i}", CODE) for i in range(6)]
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            for _ in range(200_000):
                if stop.is_set():
                    return
                registry.count()
                for module in registry.list():
                    assert module.manifest.id == module.id
        except BaseException as exc:
            errors.append(exc)

    def installer(source: Path) -> None:
        try:
            for _ in range(3):
                install_from_folder(registry, source)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    installers = [threading.Thread(target=installer, args=(s,)) for s in sources]
    for thread in readers + installers:
        thread.start()
    for thread in installers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert errors == []
    assert registry.count() == 6
    assert sorted(p.name for p in registry.root.iterdir()) == [f"mod{i}" for i in range(6)]


def test_source_record_is_written(registry: ModuleRegistry, tmp_path: Path) -> None:
    module = install_from_folder(registry, write_module(tmp_path / "src", "rec", CODE))
    record = json.loads((module.path / SOURCE_FILE).read_text())
    assert record["kind"] == "path"
    assert len(record["hash"]) == 64
    assert "installed_at" in record


def test_example_installed_on_first_start_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    registry = ModuleRegistry(settings)
    installed = ensure_example_installed(registry)
    assert installed is not None
    assert installed.id == "hello"
    assert registry.get("hello").manifest.name == "Hello"
    assert ensure_example_installed(registry) is None  # second start: nothing to do
    uninstall(registry, "hello")
    # A new start (a new registry on the same data dir) keeps it uninstalled.
    again = ModuleRegistry(settings)
    assert ensure_example_installed(again) is None
    assert again.find("hello") is None
