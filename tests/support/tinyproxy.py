"""Real proxy parts for the proxy and browser tests, all on 127.0.0.1.

- `Tinyproxy`: Debian's tinyproxy in the foreground with a config of our own on a free port;
  its log shows every proxied request (`requests()`).
- `AuthRecorder`: a tiny TCP forwarder placed in front of tinyproxy that records the
  `Proxy-Authorization` each connection offers, to prove which credentials a request used.
- `PageServer`: a local HTTP server with an HTML page, a binary body, a slow page and an echo.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.support.tools import require_tool

BINARY = bytes(range(256)) * 4 + b"\x00\xff\x89PNG\r\n\x1a\n"
TITLE = "Sweatpants test page"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Tinyproxy:
    """`Tinyproxy(folder, users={"user-a": "pw"}).start()`; `.stop()` when done."""

    def __init__(self, folder: Path, users: dict[str, str] | None = None) -> None:
        self.binary = require_tool("tinyproxy", "tinyproxy")
        self.folder = folder
        self.users = dict(users or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "tinyproxy.log"

    def start(self) -> Tinyproxy:
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):
            self.port = free_port()
            config = self.folder / "tinyproxy.conf"
            lines = [
                f"Port {self.port}",
                "Listen 127.0.0.1",
                "Allow 127.0.0.1",
                f'LogFile "{self.log_path}"',
                "LogLevel Info",
                "MaxClients 100",
                "Timeout 30",
                "DisableViaHeader Yes",
            ]
            lines += [f"BasicAuth {user} {password}" for user, password in self.users.items()]
            config.write_text("\n".join(lines) + "\n")
            self.log_path.write_text("")
            with (self.folder / "tinyproxy.stderr").open("wb") as stderr:
                self.process = subprocess.Popen(
                    [self.binary, "-d", "-c", str(config)],
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,
                )
            try:
                _wait(self._ready, 10, "tinyproxy to listen")
                return self
            except AssertionError:
                self.stop()
        raise AssertionError(f"tinyproxy did not start:\n{self.log()}")

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"tinyproxy exited ({self.process.returncode}):\n{self.log()}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def url(self, user: str | None = None, password: str | None = None) -> str:
        if user is None:
            return f"http://127.0.0.1:{self.port}"
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def requests(self) -> list[str]:
        """The request lines tinyproxy logged, e.g. `GET http://127.0.0.1:4242/ HTTP/1.1`."""
        return re.findall(r"Request \(file descriptor \d+\): (.+)", self.log())

    def established(self) -> int:
        return len(re.findall(r"Established connection to host", self.log()))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class AuthRecorder:
    """Forwards every connection to `upstream_port`, noting each Proxy-Authorization sent."""

    PATTERN = re.compile(rb"proxy-authorization:\s*basic\s+([A-Za-z0-9+/=]+)", re.IGNORECASE)

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.seen: list[str] = []  # "user:password" per request head
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.2)
        self.port = int(self._server.getsockname()[1])
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def users(self) -> list[str]:
        with self._lock:
            return [entry.split(":", 1)[0] for entry in self.seen]

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with contextlib.suppress(OSError), client:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
            with upstream:
                back = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
                back.start()
                self._pipe(client, upstream, record=True)
                back.join(30)

    def _pipe(self, source: socket.socket, target: socket.socket, record: bool = False) -> None:
        with contextlib.suppress(OSError):
            source.settimeout(30)
            while not self._stopping.is_set():
                data = source.recv(65536)
                if not data:
                    break
                if record:
                    for match in self.PATTERN.finditer(data):
                        with self._lock:
                            self.seen.append(base64.b64decode(match.group(1)).decode())
                target.sendall(data)
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

    def stop(self) -> None:
        self._stopping.set()
        self._server.close()
        self._thread.join(5)


class _Handler(BaseHTTPRequestHandler):
    server: _PageHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        if self.path.startswith("/slow"):
            self.server.release.wait(10)
            self._send(200, b"late", "text/plain")
        elif self.path.startswith("/bin"):
            self._send(200, BINARY, "application/octet-stream")
        elif self.path.startswith("/echo"):
            body = json.dumps({"path": self.path, "headers": dict(self.headers.items())})
            self._send(200, body.encode(), "application/json")
        elif self.path.startswith("/latin1"):
            self._send(200, "café".encode("latin-1"), "text/plain; charset=iso-8859-1")
        else:
            page = f"<html><head><title>{TITLE}</title></head><body><h1>hi</h1></body></html>"
            self._send(200, page.encode(), "text/html; charset=utf-8", X_Test_Page="yes")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        self.server.hits.append(self.path)
        encoded = base64.b64encode(data).decode()
        body = json.dumps({"path": self.path, "body": encoded, "headers": dict(self.headers)})
        self._send(201, body.encode(), "application/json")


class _PageHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    hits: list[str]
    release: threading.Event


class PageServer:
    """A local site: `/` (HTML with TITLE), `/bin`, `/slow`, `/echo`, `/latin1`, POST echo."""

    def __init__(self) -> None:
        self.server = _PageHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.hits = []
        self.server.release = threading.Event()
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hits(self) -> list[str]:
        return self.server.hits

    def stop(self) -> None:
        self.server.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
