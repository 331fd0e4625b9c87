"""Sync from modules.yaml with real git repositories and local folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweatpants.config import Settings
from sweatpants.errors import InvalidInput
from sweatpants.modules import ModuleRegistry, sync_modules
from tests.support.modules import write_module
from tests.test_modules_git import CODE, commit_all, make_repo


@pytest.fixture
def registry(tmp_path: Path) -> ModuleRegistry:
    return ModuleRegistry(Settings(data_dir=tmp_path / "data"), git_timeout=60)


def write_config(registry: ModuleRegistry, text: str) -> Path:
    path = registry.settings.modules_config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_missing_config_is_an_empty_report(registry: ModuleRegistry) -> None:
    report = sync_modules(registry).to_dict()
    assert report == {
        "installed": [],
        "failed": [],
        "skipped": [],
        "config_path": str(registry.settings.modules_config),
        "config_found": False,
    }


def test_invalid_yaml_names_the_file_and_line(registry: ModuleRegistry) -> None:
    path = write_config(registry, "module_sources:\n  - repo: [unclosed\n")
    with pytest.raises(InvalidInput) as caught:
        sync_modules(registry)
    assert str(path) in caught.value.detail
    assert "not valid YAML at line" in caught.value.detail
    write_config(registry, "module_sources: 5\n")
    with pytest.raises(InvalidInput) as caught:
        sync_modules(registry)
    assert caught.value.field == "module_sources"


def test_sync_installs_continues_past_failures_and_skips_unchanged(
    registry: ModuleRegistry, tmp_path: Path
) -> None:
    multi = make_repo(tmp_path / "multi")
    write_module(multi, "alpha", CODE, version="1.0.0")
    write_module(multi / "more", "beta", CODE)
    broken = write_module(multi, "broken", CODE)
    (broken / "module.json").write_text("{")
    commit_all(multi)
    single = make_repo(tmp_path / "single")
    write_module(single.parent, "single", CODE)
    commit_all(single)
    local = write_module(tmp_path / "local", "localmod", CODE)
    write_config(
        registry,
        f"""
# comments are fine
module_sources:
  - repo: {multi.as_uri()}
    modules: [alpha, more/beta, broken, missing]
  - repo: {(tmp_path / "no-such-repo").as_uri()}
  - repo: {single.as_uri()}
  - repo: {local}
  - path: ./relative-does-not-exist
  - repo: "ext::sh -c touch% /tmp/pwned"
  - {{modules: [x]}}
""",
    )
    first = sync_modules(registry)
    assert sorted(m["id"] for m in first.installed) == ["alpha", "beta", "localmod", "single"]
    installed = {m["id"]: m for m in first.installed}
    assert installed["alpha"] == {
        "id": "alpha",
        "name": "Alpha",
        "version": "1.0.0",
        "source": multi.as_uri(),
    }
    failed = {(f["source"], f.get("module")): f["error"] for f in first.failed}
    assert "not valid JSON" in failed[(multi.as_uri(), "broken")]
    assert "neither a module folder nor a module id" in failed[(multi.as_uri(), "missing")]
    assert "ls-remote" in failed[((tmp_path / "no-such-repo").as_uri(), None)]
    relative = registry.settings.modules_config.parent / "relative-does-not-exist"
    assert "neither an existing folder nor a git URL" in failed[(str(relative), None)]
    assert any("transport helpers" in error for error in failed.values())
    assert any("field 'repo' is required" in error for error in failed.values())
    assert len(first.failed) == 6
    assert first.skipped == []
    assert registry.count() == 4
    assert not Path("/tmp/pwned").exists()

    second = sync_modules(registry)
    assert second.installed == []
    assert sorted(s["id"] for s in second.skipped) == ["alpha", "beta", "localmod", "single"]
    assert all(
        s["reason"].startswith(("unchanged at commit", "unchanged since")) for s in second.skipped
    )
    # Only the sources that are still broken fail again.
    assert len(second.failed) == 6

    # A new commit updates the modules of that source only; a local edit updates its module.
    write_module(multi, "alpha", CODE, version="1.1.0")
    commit_all(multi)
    write_module(tmp_path / "local", "localmod", CODE, version="5.0.0")
    third = sync_modules(registry)
    assert sorted((m["id"], m["version"]) for m in third.installed) == [
        ("alpha", "1.1.0"),
        ("beta", "1.0.0"),
        ("localmod", "5.0.0"),
    ]
    assert [s["id"] for s in third.skipped] == ["single"]
    assert registry.get("alpha").manifest.version == "1.1.0"
    # Temporary clones are gone.
    assert sorted(p.name for p in registry.root.iterdir() if p.name.startswith(".")) == []


def test_top_level_list_and_plain_strings(registry: ModuleRegistry, tmp_path: Path) -> None:
    single = make_repo(tmp_path / "plain")
    write_module(single.parent, "plain", CODE)
    commit_all(single)
    write_config(registry, f"- {single.as_uri()}\n")
    report = sync_modules(registry)
    assert [m["id"] for m in report.installed] == ["plain"]
    assert report.failed == []
