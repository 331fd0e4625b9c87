"""Running the daemon: in the foreground (`sweatpants serve`) or in a thread (the tray app).

The listening socket is bound here, before uvicorn starts, so that a taken port is a clear
error naming the port instead of a log line from a thread that then quietly ends. Port 0 asks
the system for any free port; from the bind on, the settings carry the port it gave, so the
daemon file (`daemon.json`), the jobs' `SWEATPANTS_URL` and the start-up line
`Sweatpants VERSION listening on http://HOST:PORT ...` (stderr) all name the real one.
"""

from __future__ import annotations

import errno
import logging
import secrets
import socket
import sys
import threading
import time
from dataclasses import replace

import uvicorn

from sweatpants.api import log_filter
from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.errors import Unavailable
from sweatpants.version import __version__

log = logging.getLogger("sweatpants")

SHUTDOWN_MARGIN_SECONDS = 10.0


def bind_socket(settings: Settings) -> socket.socket:
    """The daemon's listening socket, or `Unavailable` saying why not."""
    family = socket.AF_INET6 if ":" in settings.api_host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.api_host, settings.api_port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(
                f"port {settings.api_port} on {settings.api_host} is already in use — is another "
                "Sweatpants daemon running (`sweatpants status`)? Otherwise choose a free port "
                f"with --port or {Settings.env_name('api_port')} (0 picks one)"
            ) from None
        raise Unavailable(
            f"cannot listen on {settings.api_host}:{settings.api_port}: {exc.strerror}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bound_settings(settings: Settings, sock: socket.socket) -> Settings:
    """The settings this run serves with: the port the socket really got (they differ when port 0
    asked for any), and a master token of its own when only signed tokens were configured."""
    port = int(sock.getsockname()[1])
    settings = settings if port == settings.api_port else settings.listening_on(port)
    return with_local_token(settings)


def with_local_token(settings: Settings) -> Settings:
    """With a signed-token secret and no master token, every request needs a token, and the
    dashboard, the tray, the CLI and jobs on this machine hold none of the signed kind: they get
    a random master token for this run, recorded in the daemon file (readable by the user only),
    where the CLI and the tray read it."""
    if not settings.api_signed_token_secret or settings.api_auth_token:
        return settings
    log.info("signed tokens only: this run's master token is in %s", settings.daemon_file)
    return replace(settings, api_auth_token=secrets.token_urlsafe(32))


def build_server(settings: Settings) -> uvicorn.Server:
    config = uvicorn.Config(
        create_app(settings),
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
        lifespan="on",
        ws_ping_interval=None,  # our streams send their own {"type": "ping"}
        timeout_graceful_shutdown=int(settings.stop_grace_seconds + SHUTDOWN_MARGIN_SECONDS),
    )
    log_filter.install()  # after uvicorn configured its loggers: tokens never reach a log
    return uvicorn.Server(config)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def serve(settings: Settings) -> int:
    """Run the daemon until SIGINT/SIGTERM; jobs still running resume on the next start."""
    configure_logging(settings)
    try:
        sock = bind_socket(settings)
    except Unavailable as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    settings = bound_settings(settings, sock)
    server = build_server(settings)
    print(
        f"Sweatpants {__version__} listening on {settings.base_url}  "
        f"(dashboard: {settings.base_url}/, data: {settings.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    server.run(sockets=[sock])
    return 0 if server.started else 1


class ServerThread:
    """The daemon in a background thread, for the desktop app (and tests)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = settings.base_url
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._socket = bind_socket(self.settings)
        self.settings = bound_settings(self.settings, self._socket)
        self.url = self.settings.base_url
        self._server = build_server(self.settings)
        self._thread = threading.Thread(target=self._run, name="sweatpants-daemon", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # SystemExit from uvicorn included: remember, don't vanish
            self._failure = exc

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Block until the API answers; raise `Unavailable` if the thread died or time ran out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._server is not None and self._server.started:
                return
            if self._thread is None or not self._thread.is_alive():
                reason = f": {self._failure!r}" if self._failure else ""
                raise Unavailable(f"the daemon thread ended before it was ready{reason}")
            time.sleep(0.02)
        raise Unavailable(f"the daemon did not become ready within {timeout:g}s")

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the server to exit and wait; running jobs wind down within the stop grace."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        limit = timeout if timeout is not None else self.settings.stop_grace_seconds + 15
        self._thread.join(limit)
        if self._socket is not None:
            self._socket.close()
