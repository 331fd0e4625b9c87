"""Process boundaries you can see: what runs in a job process never loads the daemon.

A job process is the runner (`sweatpants.jobs.runner`, which is also the fork server) and
whatever the module imports of the SDK (`sweatpants.sdk`, and `sweatpants.web` beneath it).
None of it may load the daemon's packages: the API, the store, the daemon-side capabilities,
the scheduler, or the web server stack. Pinned twice: by importing them in a fresh
interpreter, and by reading every import in their source, lazy ones included.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.imports import cycles, import_graph, imported_names, module_files, reachable

ROOT = Path(__file__).resolve().parents[1]

JOB_SIDE = ["sweatpants.jobs.runner", "sweatpants.sdk"]
DAEMON_ONLY = (
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlite3",
    "platformdirs",
    "sweatpants.api",
    "sweatpants.store",
    "sweatpants.capabilities",
    "sweatpants.config",
    "sweatpants.engine",
    "sweatpants.server",
    "sweatpants.cli",
    "sweatpants.desktop",
    "sweatpants.modules",
    "sweatpants.jobs.manager",
    "sweatpants.jobs.local",
    "sweatpants.jobs.children",
    "sweatpants.jobs.executor",
    "sweatpants.jobs.ray",
)


def daemon_only(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in DAEMON_ONLY)


def test_importing_the_runner_and_the_sdk_loads_nothing_of_the_daemon() -> None:
    code = f"import sys, {', '.join(JOB_SIDE)}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    loaded = out.stdout.split()
    assert "sweatpants.jobs.runner" in loaded and "sweatpants.sdk" in loaded
    assert [name for name in loaded if daemon_only(name)] == []


def test_no_job_side_module_imports_the_daemon_even_lazily() -> None:
    graph = import_graph()
    job_side = reachable(graph, JOB_SIDE)
    offending = {
        name: sorted(target for target in graph[name] if daemon_only(target))
        for name in sorted(job_side)
    }
    assert {name: bad for name, bad in offending.items() if bad} == {}
    third_party = {
        name: sorted(
            imported
            for imported in _all_imports(name)
            if daemon_only(imported) and not imported.startswith("sweatpants")
        )
        for name in sorted(job_side)
    }
    assert {name: bad for name, bad in third_party.items() if bad} == {}
    assert {"sweatpants.sdk.lease", "sweatpants.web.proxy"} <= job_side  # the scan sees them


def _all_imports(name: str) -> set[str]:
    return imported_names(name, module_files()[name])


def test_the_job_side_and_the_jobs_package_have_no_import_cycles() -> None:
    graph = import_graph()
    job_side = reachable(graph, JOB_SIDE)
    jobs_package = {name for name in graph if name.startswith("sweatpants.jobs")}
    assert cycles(graph, job_side | jobs_package) == []


def test_the_fork_server_knows_nothing_of_the_runner() -> None:
    graph = import_graph()
    assert "sweatpants.jobs.forkserver" in graph["sweatpants.jobs.runner"]
    assert not {t for t in graph["sweatpants.jobs.forkserver"] if t.startswith("sweatpants.")}
