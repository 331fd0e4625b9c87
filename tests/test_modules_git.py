"""Git installs from real repositories made with `git init` in temp dirs, and hostile URLs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sweatpants.config import Settings
from sweatpants.errors import InvalidInput
from sweatpants.modules import ModuleRegistry, install_from_git
from sweatpants.modules.git import check_repo_url
from tests.support.modules import write_module
from tests.support.tools import require_tool

CODE = """
from sweatpants import Module

class M(Module):
    async def run(self, inputs, settings):
        yield {"ok": True}
"""

GIT = require_tool("git", "git")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [GIT, "-C", str(repo), "-c", "user.name=Test", "-c", "user.email=t@example.invalid", *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit_all(repo: Path, message: str = "update") -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def registry(tmp_path: Path) -> ModuleRegistry:
    return ModuleRegistry(Settings(data_dir=tmp_path / "data"), git_timeout=60)


def test_install_repo_root(registry: ModuleRegistry, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "single")
    write_module(repo.parent, "single", CODE, version="0.1.0")
    commit = commit_all(repo)
    module = install_from_git(registry, repo.as_uri())
    assert module.id == "single"
    assert module.manifest.version == "0.1.0"
    assert not (module.path / ".git").exists()
    assert module.source is not None
    assert module.source["kind"] == "git"
    assert module.source["url"] == repo.as_uri()
    assert module.source["commit"] == commit
    # Nothing of the clone is left behind.
    assert sorted(p.name for p in registry.root.iterdir()) == ["single"]


def test_install_subfolder_and_by_id(registry: ModuleRegistry, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "multi")
    write_module(repo / "modules", "alpha", CODE)
    folder = write_module(repo / "modules", "beta-folder", CODE)
    manifest = (folder / "module.json").read_text().replace('"beta-folder"', '"beta"', 1)
    (folder / "module.json").write_text(manifest)
    commit_all(repo)
    alpha = install_from_git(registry, repo.as_uri(), "modules/alpha")
    assert alpha.id == "alpha"
    assert alpha.source is not None and alpha.source["subdir"] == "modules/alpha"
    beta = install_from_git(registry, repo.as_uri(), "beta")  # an id, found in the repo
    assert beta.id == "beta"
    assert beta.source is not None and beta.source["subdir"] == "modules/beta-folder"
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, repo.as_uri())
    assert "modules found: modules/alpha, modules/beta-folder" in caught.value.detail
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, repo.as_uri(), "gamma")
    assert caught.value.field == "module_name"


def test_branch_and_plain_path(registry: ModuleRegistry, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "branchy")
    write_module(repo.parent, "branchy", CODE, version="1.0.0")
    commit_all(repo)
    git(repo, "checkout", "-q", "-b", "next")
    write_module(repo.parent, "branchy", CODE, version="2.0.0")
    commit_all(repo)
    git(repo, "checkout", "-q", "main")
    assert install_from_git(registry, str(repo)).manifest.version == "1.0.0"
    assert install_from_git(registry, repo.as_uri(), branch="next").manifest.version == "2.0.0"
    with pytest.raises(InvalidInput):
        install_from_git(registry, repo.as_uri(), branch="--upload-pack=touch /tmp/x")


def test_clone_failure_names_the_url(registry: ModuleRegistry, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, (tmp_path / "nothing-here").as_uri())
    assert "git clone file://" in caught.value.detail
    assert caught.value.field == "repo_url"
    assert [p.name for p in registry.root.iterdir()] == []


@pytest.mark.parametrize(
    "url",
    [
        "ext::sh -c touch% /tmp/pwned",
        "ext::sh",
        "fd::17",
        "-oProxyCommand=touch /tmp/pwned",
        "--upload-pack=touch /tmp/pwned",
        "ssh://-oProxyCommand=touch%20/tmp/pwned/x",
        "ssh://-user@host/repo",
        "-user@host:repo",
        "git://example.com/repo.git",
        "http://example.com/repo.git",
        "ftp://example.com/repo.git",
        "file://remote-host/etc",
        "https://",
        "https://exa mple.com/repo",
        "https://example.com/repo\n--upload-pack=x",
        "relative/path",
        "",
        "   ",
    ],
)
def test_hostile_urls_are_refused(registry: ModuleRegistry, url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, url)
    assert caught.value.field == "repo_url"
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "ssh://git@github.com/org/repo.git",
        "git+ssh://git@example.com:2222/org/repo",
        "git@github.com:org/repo.git",
        "example.com:org/repo.git",
        "file:///srv/repos/x.git",
        "http://127.0.0.1:8080/repo.git",
        "http://localhost/repo.git",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert check_repo_url(url) == url


@pytest.mark.parametrize(
    "name", ["../../", "../x", "/etc", "a/../../b", "~/x", "-x", "a\\b", "C:x"]
)
def test_module_name_cannot_escape_the_clone(registry: ModuleRegistry, name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, "file:///etc", name)
    assert caught.value.field == "module_name"


def test_module_name_symlink_out_of_the_clone(registry: ModuleRegistry, tmp_path: Path) -> None:
    outside = write_module(tmp_path / "outside", "stolen", CODE)
    repo = make_repo(tmp_path / "linky")
    write_module(repo.parent, "linky", CODE)
    (repo / "sneaky").symlink_to(outside)
    commit_all(repo)
    with pytest.raises(InvalidInput) as caught:
        install_from_git(registry, repo.as_uri(), "sneaky")
    assert "leads outside" in caught.value.detail
    assert registry.find("stolen") is None
