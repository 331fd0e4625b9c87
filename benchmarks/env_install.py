"""Installing a module with requirements: its environment built by uv, end to end, and its disk.

The daemon gets a uv cache of its own (`UV_CACHE_DIR` in the bench folder, on the same disk as
its environments, so uv can hard-link from it). The first install (a module pinning
`idna==3.6`) fills the cache: "cold". Then `--count` modules whose requirements differ only in
a constraint that changes nothing (`idna==3.6` plus `idna!=0.N`), so each gets an environment
of its own from a warm cache: `POST /modules/install` → answer, client clock ("warm"; the
target). Then the same module installed again unchanged ("reuse": no resolver run). Disk: the
bytes of each environment's files that nothing else links (`own_bytes` of `GET /modules/{id}`)
and of all its files (`size_bytes`); packages uv linked from its cache count in the second.

    .venv/bin/python benchmarks/env_install.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

from common import Daemon, Figure, arguments, attempt, bench_daemon, print_table, write_json

CODE = """
import idna
from sweatpants import Module

class Pinned(Module):
    async def run(self, inputs, settings):
        await self.log("first-line")
        yield {"idna": idna.__version__}
"""


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="warm installs to time (10)")


def source(root: Path, module_id: str, requirements: str) -> Path:
    folder = root / module_id
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"id": module_id, "name": module_id, "version": "1.0.0"}
    (folder / "module.json").write_text(json.dumps(manifest))
    (folder / "main.py").write_text(textwrap.dedent(CODE).lstrip())
    (folder / "requirements.txt").write_text(requirements)
    return folder


def install(daemon: Daemon, folder: Path) -> float:
    """Seconds from POST /modules/install to its answer."""
    started = time.perf_counter()
    answer = daemon.client().post(
        "/modules/install", json={"source_path": str(folder)}, timeout=600
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise SystemExit(f"install of {folder.name} answered {answer.status_code}: {answer.text}")
    return elapsed


def env_of(daemon: Daemon, module_id: str) -> dict[str, Any]:
    env: dict[str, Any] = daemon.get(f"/modules/{module_id}")["env"]
    return env


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (3 if args.quick else 10)
    errors: list[str] = []
    figures: list[Figure] = []
    runs: dict[str, Any] = {}
    cache = Path(tempfile.mkdtemp(prefix="sweatpants-bench-uv-"))  # same disk as the envs
    try:
        measure(daemon_env={"UV_CACHE_DIR": str(cache)}, count=count, errors=errors,
                figures=figures, runs=runs)  # fmt: skip
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    print_table("module environments: install", figures, errors)
    write_json(args.json, "env_install", figures, runs, errors)
    return 0


def measure(
    daemon_env: dict[str, str],
    count: int,
    errors: list[str],
    figures: list[Figure],
    runs: dict[str, Any],
) -> None:
    with bench_daemon(daemon_env) as daemon:
        sources = daemon.data_dir.parent / "sources"
        cold = attempt(
            errors, "cold", lambda: install(daemon, source(sources, "env-0", "idna==3.6\n"))
        )
        warm: list[float] = []
        for index in range(1, count + 1):
            folder = source(sources, f"env-{index}", f"idna==3.6\nidna!=0.{index}\n")
            took = attempt(errors, f"warm {index}", lambda folder=folder: install(daemon, folder))
            if took is not None:
                warm.append(took)
        reuse = attempt(errors, "reuse", lambda: install(daemon, sources / "env-1"))
        envs = [env_of(daemon, f"env-{index}") for index in range(1, len(warm) + 1)]
        runs.update(cold_s=cold, warm_s=warm, reuse_s=reuse, envs=len(envs))
        figures.append(Figure("env_install_cold_s", "install, cold uv cache", cold, "s"))
        if warm:
            figures += [
                Figure(
                    "env_install_warm_s",
                    "install, warm uv cache (median)",
                    statistics.median(warm),
                    "s",
                    note=f"{len(warm)} modules each with an environment of its own",
                ),
                Figure("env_install_warm_max_s", "install, warm uv cache (max)", max(warm), "s"),
            ]
        figures.append(Figure("env_install_reuse_s", "install, unchanged requirements", reuse, "s"))
        if envs:
            own = statistics.median(env["own_bytes"] for env in envs) / 1e6
            size = statistics.median(env["size_bytes"] for env in envs) / 1e6
            figures += [
                Figure("env_disk_own_mb", "disk per extra environment (not shared)", own, "MB"),
                Figure(
                    "env_disk_size_mb", "files of one environment (shared included)", size, "MB"
                ),
            ]


if __name__ == "__main__":
    raise SystemExit(main())
