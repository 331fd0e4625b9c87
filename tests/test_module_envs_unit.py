"""Module environments without building one: keys, pip's settings for uv, the in-use lock,
collection, and the requirement list a Ray cluster gets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sweatpants.jobs import envdir
from sweatpants.jobs.ray.packaging import cluster_requirements
from sweatpants.modules import envs, uv
from tests.support.modules import write_module

PIP_CONFIG = """global.cert='/etc/ssl/certs/ca-certificates.crt'
global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'
global.find-links='/opt/wheels'
global.constraint='/etc/xdg/pip/constraints.txt'
:env:.default-timeout='180'
:env:.find-links='/opt/wheels /srv/more'
:env:.index-url='https://mirror.example/simple'
"""


def test_the_key_ignores_comments_blanks_and_order_but_not_pins_or_capabilities() -> None:
    key = envs.env_key("idna==3.6\nsix\n", ())
    assert envs.env_key("# deps\nsix   # any\n\n  idna==3.6\n", ()) == key
    assert envs.env_key("idna==3.7\nsix\n", ()) != key
    assert envs.env_key("idna==3.6\nsix\n", ("browser",)) != key
    assert envs.env_key("idna==3.6\nsix\n", ("proxy",)) == key  # the SDK needs the same
    assert envs.sdk_needs(["browser"]) == ["httpx>=0.27", "websockets>=13.1", "playwright>=1.40"]


def test_pips_settings_become_uvs_unless_uvs_own_are_set() -> None:
    pip = uv.parse_pip_config(PIP_CONFIG)
    assert pip["find-links"] == "/opt/wheels /srv/more"  # :env: wins over global
    assert pip["index-url"] == "https://mirror.example/simple"
    env = uv.uv_environment({"PATH": "/bin", "PYTHONPATH": "/daemon", "VIRTUAL_ENV": "/x"}, pip)
    assert env["UV_DEFAULT_INDEX"] == "https://mirror.example/simple"
    assert env["UV_INDEX"] == "file:///opt/pypi/simple file:///opt/pypi-more/simple"
    assert env["UV_FIND_LINKS"] == "/opt/wheels,/srv/more"
    assert env["UV_CONSTRAINT"] == "/etc/xdg/pip/constraints.txt"
    assert env["UV_HTTP_TIMEOUT"] == "180"
    assert env["UV_INDEX_STRATEGY"] == "unsafe-best-match"
    assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env and env["PATH"] == "/bin"
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        assert env["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    own = uv.uv_environment({"UV_INDEX_URL": "https://mine/simple", "SSL_CERT_FILE": "/c"}, pip)
    assert "UV_DEFAULT_INDEX" not in own and own["SSL_CERT_FILE"] == "/c"


def fake_env(root: Path, name: str) -> Path:
    folder = root / name
    (folder / "bin").mkdir(parents=True)
    (folder / envdir.ENV_MARKER).write_text("home = /usr/bin\n")
    (folder / envs.MARKER).write_text(json.dumps({"key": name}))
    return folder


def test_collect_removes_unused_environments_unless_a_job_holds_one(tmp_path: Path) -> None:
    store = envs.Environments(tmp_path / "envs", timeout=60)
    kept, unused, held = (fake_env(store.root, n) for n in ("aaaa", "bbbb", "cccc"))
    (store.root / envs.SDK_DIR_NAME).mkdir()
    trash = fake_env(store.root, ".trash-aaaa-1234")
    fd = envdir.hold(held)
    assert fd is not None and envdir.in_use(held) and not envdir.in_use(unused)
    try:
        assert sorted(store.collect({"aaaa"})) == [".trash-aaaa-1234", "bbbb"]
        assert kept.is_dir() and held.is_dir() and not unused.exists() and not trash.exists()
    finally:
        os.close(fd)
    assert not envdir.in_use(held)
    assert store.collect({"aaaa"}) == ["cccc"]
    assert (store.root / envs.SDK_DIR_NAME).is_dir()


def test_the_sdk_folder_holds_only_a_link_to_this_package(tmp_path: Path) -> None:
    store = envs.Environments(tmp_path / "envs", timeout=60)
    folder = store.sdk_folder()
    assert [entry.name for entry in folder.iterdir()] == ["sweatpants"]
    assert (folder / "sweatpants" / "jobs" / "runner.py").is_file()
    assert store.sdk_folder() == folder


def test_a_ray_cluster_gets_the_same_requirement_set(tmp_path: Path) -> None:
    module = write_module(
        tmp_path, "m", "", capabilities=["browser"], requirements="--find-links /w\nidna==3.6\n"
    )
    assert cluster_requirements(module, None) == [
        "--find-links /w",
        "idna==3.6",
        *envs.sdk_needs(["browser"]),
    ]
    assert cluster_requirements(write_module(tmp_path, "plain", ""), None) is None
    built = fake_env(tmp_path, "built")
    site = envs.site_packages(built)
    for name, version in (("idna", "3.6"), ("httpx", "0.28.1")):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    assert cluster_requirements(module, str(built)) == [
        "--find-links /w",
        "httpx==0.28.1",
        "idna==3.6",
    ]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_without_uv_python_venv_and_pip_build_it_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uv, "uv_binary", lambda: None)  # a platform uv has no binary for
    store = envs.Environments(tmp_path / "envs", timeout=600)
    module = write_module(tmp_path, "m", "", requirements="idna==3.6\n")
    said: list[str] = []
    env = store.ensure(envs.EnvRequest("m", module, "idna==3.6\n"), on_line=said.append)
    assert any(line.startswith("WARNING: uv cannot run") for line in said), said
    assert json.loads((env / envs.MARKER).read_text())["installer"] == "pip"
    done = subprocess.run(
        [str(envdir.interpreter(env)), "-c", "import idna, sweatpants.jobs.runner; print(idna.__version__)"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "3.6"
