"""Entry point of the standalone (PyInstaller) Sweatpants app.

Two executables in one folder run this script:

- `sweatpants-app` (no console window on Windows/macOS): the tray app with the dashboard;
- `sweatpants`: the command line, e.g. `sweatpants serve` on a headless machine.

A frozen app has no `python` to start, so multiprocessing starts its helpers (the fork
server on Linux, spawned job processes on macOS/Windows, the resource tracker) by running
this same executable with special arguments. `multiprocessing.freeze_support()` must come
first: it recognises those arguments, runs the helper and exits before any app code runs.
"""

import multiprocessing

multiprocessing.freeze_support()

import os  # noqa: E402
import sys  # noqa: E402

APP_NAMES = ("sweatpants-app", "Sweatpants")


def main() -> int:
    from sweatpants.cli.main import main as cli_main

    args = sys.argv[1:]
    # Commands written for a Python install (`python -m sweatpants.desktop ...`, what
    # start-at-login records) name this executable in place of python: honour them.
    if args[:2] == ["-m", "sweatpants.desktop"]:
        args = ["app", *args[2:]]
    elif args[:2] == ["-m", "sweatpants"]:
        args = args[2:]
    program = os.path.splitext(os.path.basename(sys.executable))[0]
    if not args and program in APP_NAMES:
        args = ["app"]
    return cli_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
