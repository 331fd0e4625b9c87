"""`sweatpants app` / `sweatpants-app`: one process with the daemon, the tray and the window.

1. One app per data folder: if another holds the lock, ask it to show its window and exit.
2. The engine: the Sweatpants daemon already on the port, else ours in a thread; a port held
   by another program is an error that says so (exit 2).
3. With a display and the GUI backends: tray + window until Quit. Without: say why, run the
   daemon headless and print the dashboard URL until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Mapping
from types import FrameType

from sweatpants.config import Settings
from sweatpants.desktop.backend import GuiSupport, detect
from sweatpants.desktop.daemon import EngineLink, PortTaken, connect_or_start, recorded_url
from sweatpants.desktop.instance import AlreadyRunning, Doorbell, InstanceLock, desktop_dir, ring
from sweatpants.errors import SweatpantsError

log = logging.getLogger("sweatpants.desktop")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_PORT_TAKEN = 2
# The settings the launcher takes as flags (autostart carries them to the login start), with
# their help: each flag sets its option's variable, `--port 8421` is SWEATPANTS_API_PORT=8421.
SETTING_FLAGS = {
    "data_dir": ("--data-dir", "data folder"),
    "api_host": ("--host", "address to listen on"),
    "api_port": ("--port", "port to listen on"),
    "env_file": ("--env-file", "a file of KEY=VALUE settings"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sweatpants app",
        description="Start Sweatpants in the system tray: the engine, the tray icon and the "
        "dashboard window. A second launch shows the running app's window.",
    )
    parser.add_argument(
        "--hidden", action="store_true", help="start in the tray without opening the window"
    )
    parser.add_argument(
        "--headless", action="store_true", help="no tray or window: run the daemon only"
    )
    for name, (flag, meaning) in SETTING_FLAGS.items():
        parser.add_argument(
            flag,
            dest=name,
            metavar=flag.removeprefix("--").replace("-", "_").upper(),
            help=f"{meaning} (default: {Settings.env_name(name)})",
        )
    return parser


def _environment(args: argparse.Namespace, base: Mapping[str, str]) -> dict[str, str]:
    environ = dict(base)
    for name in SETTING_FLAGS:
        value = getattr(args, name)
        if value:
            environ[Settings.env_name(name)] = str(value)
    return environ


def _say(message: str) -> None:
    """Tell the user (stderr may be missing when started from a launcher on Windows)."""
    if sys.stderr is not None:
        print(message, file=sys.stderr, flush=True)


def _setup_logging(settings: Settings) -> None:
    root = logging.getLogger("sweatpants")
    if root.handlers:
        return
    root.setLevel(settings.log_level)
    form = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    if sys.stderr is not None:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(form)
        root.addHandler(stream)
    try:
        folder = desktop_dir(settings.data_dir)
        folder.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            folder / "app.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError as exc:
        _say(f"sweatpants: cannot write the app log: {exc}")
        return
    file_handler.setFormatter(form)
    root.addHandler(file_handler)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.load(_environment(args, os.environ))
    except SweatpantsError as exc:
        _say(f"sweatpants: {exc.detail}")
        return EXIT_ERROR
    _setup_logging(settings)
    log.info("desktop: starting (pid %d, data %s)", os.getpid(), settings.data_dir)
    lock = InstanceLock(desktop_dir(settings.data_dir) / "app.lock")
    if not lock.acquire():
        return _show_running_app(settings)
    try:
        return _run(settings, args)
    finally:
        lock.release()


def _show_running_app(settings: Settings) -> int:
    try:
        ring(desktop_dir(settings.data_dir) / "app.json", "show")
    except AlreadyRunning as exc:
        _say(f"sweatpants: {exc.detail}")
        return EXIT_ERROR
    url = recorded_url(settings) or settings.base_url
    _say(f"Sweatpants is already running ({url}); showing its window.")
    return EXIT_OK


def _run(settings: Settings, args: argparse.Namespace) -> int:
    gui = GuiSupport(False, "--headless was given") if args.headless else detect()
    if not gui.available:
        _say(f"sweatpants: no tray or window: {gui.reason}. Running the daemon headless.")
    window = None
    if gui.available and not args.hidden:
        from sweatpants.desktop.window_process import discard_window, spawn_window

        window = spawn_window(gui.webview_gui)  # loads its web engine while the daemon starts
    try:
        link = connect_or_start(settings)
    except SweatpantsError as exc:
        if window is not None:
            discard_window(window)
        _say(f"sweatpants: {exc.detail}")
        return EXIT_PORT_TAKEN if isinstance(exc, PortTaken) else EXIT_ERROR
    if not gui.available:
        return _run_headless(settings, link)
    from sweatpants.desktop.app import DesktopApp

    try:
        return DesktopApp(settings, link, gui, hidden=args.hidden, prestarted=window).run()
    except Exception as exc:
        log.exception("desktop: the tray or window failed")
        _say(
            f"sweatpants: the desktop app failed ({exc}); 'sweatpants app --headless' runs "
            "the engine without it"
        )
        return EXIT_ERROR
    finally:
        link.stop(settings.stop_grace_seconds + 10)  # a no-op when Quit already stopped it


def _run_headless(settings: Settings, link: EngineLink) -> int:
    _say(f"Dashboard: {link.url}/")
    if not link.owned:
        _say("A Sweatpants daemon is already running there; nothing more to start.")
        return EXIT_OK
    _say("Press Ctrl-C to stop the daemon.")
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    doorbell = Doorbell(
        desktop_dir(settings.data_dir) / "app.json",
        on_command=lambda _c: log.info("desktop: headless; dashboard at %s/", link.url),
    )
    doorbell.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        doorbell.stop()
        _say("Stopping the daemon (running jobs checkpoint first)...")
        link.stop(settings.stop_grace_seconds + 10)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
