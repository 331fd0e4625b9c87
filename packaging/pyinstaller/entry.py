"""Entry point of the standalone (PyInstaller) Sweatpants app.

Two executables in one folder run this script:

- `sweatpants-app` (no console window on Windows/macOS): the tray app with the dashboard;
- `sweatpants`: the command line, e.g. `sweatpants serve` on a headless machine.

A frozen app has no `python` to start, so every helper process is this same executable
with special arguments:

- job runners: `--sweatpants-job-runner --messages-fd N --control-fd M` (sweatpants.jobs.children);
- `-m MODULE ...`: commands written for a Python install (start-at-login records
  `-m sweatpants.desktop --hidden`);
- multiprocessing's helpers (fork server, resource tracker, spawned children), should any
  code use multiprocessing: `multiprocessing.freeze_support()` must come first; it
  recognises their arguments, runs the helper and exits before any app code runs.
"""

import multiprocessing

multiprocessing.freeze_support()

import os  # noqa: E402
import sys  # noqa: E402

APP_NAMES = ("sweatpants-app", "Sweatpants")


def main() -> int:
    from sweatpants.jobs.children import RUNNER_FLAG

    args = sys.argv[1:]
    if args[:1] == [RUNNER_FLAG]:
        # A warm job runner: what `python -m sweatpants.jobs.runner` is outside a frozen app
        # (sweatpants.jobs.children starts `<app> --sweatpants-job-runner --messages-fd ...`).
        from sweatpants.jobs.runner import main as runner_main

        runner_main(args[1:])
        return 0
    if args[:1] == ["-m"] and len(args) >= 2:
        # Commands written for a Python install name this executable in place of python:
        # `<app> -m sweatpants.desktop --hidden` (what start-at-login records), `-m sweatpants`.
        import runpy

        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0

    from sweatpants.cli.main import main as cli_main

    program = os.path.splitext(os.path.basename(sys.executable))[0]
    if not args and program in APP_NAMES:
        args = ["app"]
    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
