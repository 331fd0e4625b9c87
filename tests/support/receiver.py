"""A real HTTP receiver on 127.0.0.1 for webhook and callback tests.

Each path answers from a script: a list of status codes used in turn (the last one repeats),
or `HANG`: the request is read and never answered until the receiver closes. Every request
is recorded (path, headers, raw body) so tests can check signatures on the bytes received.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"
HANG_LIMIT = 120.0  # a hanging request is released after this long at the latest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)


class Receiver:
    def __init__(self) -> None:
        self.scripts: dict[str, list[int] | str] = {}
        self.requests: list[Received] = []
        self.open = 0  # requests read and not answered yet
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def on(self, path: str, script: list[int] | str) -> str:
        """Script `path`; returns its full URL."""
        with self._lock:
            self.scripts[path] = script
        return self.url + path

    def received(self, path: str) -> list[Received]:
        with self._lock:
            return [item for item in self.requests if item.path == path]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def close(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str) -> int | None:
        with self._lock:
            script = self.scripts.get(path, [404])
            if script == HANG:
                return None
            assert isinstance(script, list)
            seen = sum(1 for item in self.requests if item.path == path)
            return script[min(seen - 1, len(script) - 1)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                code = receiver._answer(self.path)
                if code is None:
                    with receiver._lock:
                        receiver.open += 1
                    receiver._release.wait(HANG_LIMIT)
                    with receiver._lock:
                        receiver.open -= 1
                    return
                self.send_response(code)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


@contextmanager
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    try:
        yield running
    finally:
        running.close()
