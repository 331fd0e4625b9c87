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


def _restore_library_path() -> None:
    """Give programs we start (git, chromium, pip) the system's libraries, not the bundle's.

    PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle and keeps the user's value
    in LD_LIBRARY_PATH_ORIG. This process has its libraries loaded already, and a copy of this
    app started by multiprocessing sets the variable again itself.
    """
    for name in ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH"):
        original = os.environ.pop(name + "_ORIG", None)
        if original is not None:
            os.environ[name] = original
        elif name in os.environ and getattr(sys, "frozen", False):
            del os.environ[name]


def main() -> int:
    _restore_library_path()
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
