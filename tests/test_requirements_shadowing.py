"""A module's pins win: its job runs on its own environment, whatever the daemon imported.

The live test pins idna (which httpx, preloaded in every warm starter, imports) and six
(which nothing imports) at versions other than the daemon's, from the registry: both come
from the module's environment. The WARNING about shadowed packages remains for the one case
where requirements still go to a folder on `sys.path` of a job forked from the daemon's own
fork server: the standalone app (see `sweatpants.jobs.shadowing`); the unit tests pin it.
"""

from __future__ import annotations

import subprocess
import sys
import types
from importlib import metadata
from pathlib import Path

import pytest

from sweatpants.jobs.shadowing import preloaded, shadowed
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

ROOT = Path(__file__).resolve().parent.parent


def fake_dist(deps: Path, name: str, version: str, package: str) -> None:
    """A distribution as `pip install --target` leaves it: the package and its dist-info."""
    (deps / package).mkdir(parents=True)
    (deps / package / "__init__.py").write_text(f'__version__ = "{version}"\n')
    info = deps / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "RECORD").write_text(f"{package}/__init__.py,,\n{info.name}/METADATA,,\n")


def test_a_pinned_package_imported_at_another_version_is_named(tmp_path: Path) -> None:
    import idna  # the daemon's, as httpx has it imported in every job process

    daemons = metadata.version("idna")
    fake_dist(tmp_path, "idna", "0.0.1", "idna")
    [warning] = shadowed(str(tmp_path))
    assert warning.startswith(
        f"requirements.txt installs idna 0.0.1 for this module, but this job uses idna {daemons}"
        f" from {Path(idna.__file__).resolve().parent}:"
    )
    assert "imported 'idna' before the module was loaded" in warning
    assert warning.endswith(
        f"Require idna=={daemons} (the daemon's version) or drop the requirement."
    )


def test_no_warning_when_nothing_differs(tmp_path: Path) -> None:
    import idna  # noqa: F401

    same = tmp_path / "same"
    fake_dist(same, "idna", metadata.version("idna"), "idna")
    assert shadowed(str(same)) == []  # the version the daemon has: nothing differs
    unused = tmp_path / "unused"
    fake_dist(unused, "sp-not-imported", "1.0", "sp_not_imported")
    assert shadowed(str(unused)) == []  # not imported yet: it will come from the folder
    own = tmp_path / "own"
    fake_dist(own, "idna", "0.0.1", "idna")
    loaded_from_folder = types.ModuleType("idna")
    loaded_from_folder.__file__ = str(own / "idna" / "__init__.py")
    assert shadowed(str(own), {"idna": loaded_from_folder}) == []


def test_preloaded_lists_what_the_fork_server_imported() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants.jobs.preloaded"],
        capture_output=True, text=True, timeout=60, check=True, cwd=ROOT,
    )  # fmt: skip
    listed = dict(line.split("\t") for line in done.stdout.splitlines())
    assert listed["httpx"] == f"httpx {metadata.version('httpx')}"
    assert listed["idna"] == f"idna {metadata.version('idna')}"
    assert "sweatpants" not in listed and not [name for name in listed if name.startswith("_")]
    assert preloaded(["json", "idna.core", "sweatpants.sdk"]) == {
        "idna": f"idna {metadata.version('idna')}"
    }


PINNING = """
import sys

from sweatpants import Module
from sweatpants.jobs.shadowing import preloaded

class Pinning(Module):
    async def run(self, inputs, settings):
        started_with = preloaded()  # before this module imports anything itself
        import idna
        import six
        yield {"preloaded": started_with, "idna": idna.__version__, "idna_file": idna.__file__,
               "six": six.__version__, "six_file": six.__file__, "prefix": sys.prefix}
"""


@pytest.mark.live
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_pinned_package_wins_even_one_the_starter_imported(
    daemon: RunningDaemon, tmp_path: Path
) -> None:
    daemons_idna, daemons_six = metadata.version("idna"), metadata.version("six")
    assert daemons_idna != "3.6" and daemons_six != "1.16.0"
    source = write_module(tmp_path, "pinning", PINNING, requirements="idna==3.6\nsix==1.16.0\n")
    installed = daemon.client().post(
        "/modules/install", json={"source_path": str(source)}, timeout=300
    )
    assert installed.status_code == 200, installed.text
    job_id = daemon.start_job("pinning")
    assert daemon.wait_job(job_id, timeout=120)["status"] == "completed", daemon.job(job_id)
    [result] = daemon.results(job_id)
    env = Path(daemon.client().get("/modules/pinning").json()["env"]["path"]).resolve()

    assert Path(result["prefix"]).resolve() == env
    assert result["six"] == "1.16.0" and Path(result["six_file"]).resolve().is_relative_to(env)
    # idna was imported before the module loaded (its starter preloads httpx), from the
    # environment: the module's pin.
    assert result["preloaded"]["idna"] == "idna 3.6"
    assert result["idna"] == "3.6" and Path(result["idna_file"]).resolve().is_relative_to(env)
    messages = [entry["message"] for entry in daemon.logs(job_id)]
    assert not [m for m in messages if "requirements.txt installs" in m]  # nothing shadowed
