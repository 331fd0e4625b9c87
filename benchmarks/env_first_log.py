"""Start latency of a module with an environment: POST /jobs → its first log line, warm and cold.

The same measurement as first_log.py (client time from before `POST /jobs` until the module's
first line arrives on `WS /jobs/{id}/logs/stream`), for `bench-env` (the Hello module with a
requirements.txt pinning `idna==3.6`, so its jobs run on an environment of its own) beside
`bench-hello` (no requirements: the daemon's fork server), in one daemon whose environment
starters end after SWEATPANTS_ENV_STARTER_IDLE_SECONDS=2:
  - warm: jobs 0.3 s apart; each forks from the environment's running starter (the target);
  - cold: jobs 3 s apart, so each starts after the starter ended: a new interpreter on the
    environment imports the runner and httpx first (what the first job after an install pays).

    .venv/bin/python benchmarks/env_first_log.py [--quick] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import textwrap
from pathlib import Path

from common import (
    FIRST_LOG_MODULE,
    Figure,
    arguments,
    attempt,
    bench_daemon,
    print_table,
    wait_final,
    write_json,
)
from first_log import PAUSE, series, series_figures

IDLE_SECONDS = 2.0
COLD_PAUSE = IDLE_SECONDS + 1.0


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=int, help="jobs to time per series (20; cold: a third)")


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    jobs = args.jobs or (6 if args.quick else 20)
    errors: list[str] = []
    figures: list[Figure] = []
    runs: dict[str, object] = {}
    sources = Path(tempfile.mkdtemp(prefix="sweatpants-bench-env-"))
    try:
        folder = sources / "bench-env"
        folder.mkdir()
        manifest = {"id": "bench-env", "name": "bench-env", "version": "1.0.0"}
        (folder / "module.json").write_text(json.dumps(manifest))
        (folder / "main.py").write_text(textwrap.dedent(FIRST_LOG_MODULE).lstrip())
        (folder / "requirements.txt").write_text("idna==3.6\n")
        env = {"SWEATPANTS_ENV_STARTER_IDLE_SECONDS": str(IDLE_SECONDS)}
        with bench_daemon(env) as daemon:
            answer = daemon.client().post(
                "/modules/install", json={"source_path": str(folder)}, timeout=600
            )
            if answer.status_code != 200:
                raise SystemExit(f"install answered {answer.status_code}: {answer.text}")
            plans = [
                ("plain", "env_plain", "bench-hello", PAUSE, jobs),
                ("environment, warm", "env_first_log", "bench-env", PAUSE, jobs),
                (
                    "environment, cold",
                    "env_first_log_cold",
                    "bench-env",
                    COLD_PAUSE,
                    jobs // 3 or 1,
                ),
            ]
            for label, key, module_id, pause, count in plans:
                if pause < IDLE_SECONDS:  # a warm series starts with its starter running
                    wait_final(daemon, [daemon.start_job(module_id)], 60)
                run = attempt(
                    errors,
                    label,
                    lambda module_id=module_id, pause=pause, count=count: series(
                        daemon, count, pause, module_id
                    ),
                )
                if run is not None:
                    runs[key] = run
                    note = f"{count} jobs of {module_id}, {pause} s after the previous one ended"
                    figures += series_figures(key, label, run, note)
    finally:
        shutil.rmtree(sources, ignore_errors=True)
    print_table("module environments: first log line", figures, errors)
    write_json(args.json, "env_first_log", figures, runs, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
