"""The earlier engine's callback sender (sweatpants.sdk.callback) against a real HTTP receiver
on 127.0.0.1: the request it makes, what it returns, what it logs."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sweatpants import Module
from sweatpants.sdk import send_signed_callback as exported
from sweatpants.sdk.callback import CALLBACK_USER_AGENT, send_signed_callback
from sweatpants.tokens import verify_token
from tests.support.daemon import free_port

SECRET = "receiver-secret"


class Receiver:
    """Answers each POST with the next status of `answers` (200 when they run out)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append((dict(self.headers.items()), body))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if status >= 300 else b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


class Logs:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    async def __call__(self, message: str, level: str = "INFO") -> None:
        self.lines.append((message, level))


def test_a_signed_callback_is_posted_with_honest_headers(receiver: Receiver) -> None:
    logs = Logs()
    sent = asyncio.run(
        send_signed_callback(
            receiver.url, {"rows": 3}, SECRET, user_id=42, job_id="job-9", log=logs
        )
    )
    assert sent is True and exported is send_signed_callback
    headers, body = receiver.requests[0]
    assert json.loads(body) == {"rows": 3} and body == b'{"rows":3}'
    assert headers["Content-Type"] == "application/json"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == CALLBACK_USER_AGENT and "Sweatpants/" in CALLBACK_USER_AGENT
    claims = verify_token(SECRET, headers["Authorization"].removeprefix("Bearer "))
    assert (claims.sub, claims.scopes, claims.jti, claims.iss) == (
        42,
        ("callback:write",),
        "job-9",
        "sweatpants",
    )
    assert all(level == "INFO" for _, level in logs.lines)


def test_without_a_secret_nothing_is_signed(receiver: Receiver) -> None:
    assert asyncio.run(send_signed_callback(receiver.url, {}, None)) is True
    assert "Authorization" not in receiver.requests[0][0]


def test_failures_return_false_and_warn(receiver: Receiver) -> None:
    logs = Logs()
    receiver.answers = [500]
    assert asyncio.run(send_signed_callback(receiver.url, {}, SECRET, log=logs)) is False
    assert any(level == "WARNING" and "HTTP 500" in m for m, level in logs.lines)
    refused = f"http://127.0.0.1:{free_port()}/hook"
    assert asyncio.run(send_signed_callback(refused, {}, SECRET, log=logs, timeout=5)) is False
    bad_payload = {"bad": object()}
    assert asyncio.run(send_signed_callback(receiver.url, bad_payload, SECRET, log=logs)) is False
    assert asyncio.run(send_signed_callback("file:///etc/passwd", {}, SECRET, log=logs)) is False
    assert len(receiver.requests) == 1
    assert sum(level == "WARNING" for _, level in logs.lines) == 4


def test_the_module_method_adds_the_job_id(receiver: Receiver) -> None:
    class Sender(Module):
        async def run(self, inputs: dict[str, Any], settings: dict[str, Any]) -> Any:
            yield {}

    sent = asyncio.run(Sender().send_signed_callback(receiver.url, {"a": 1}, SECRET, user_id=3))
    assert sent is True
    headers, body = receiver.requests[0]
    assert json.loads(body) == {"a": 1, "job_id": "detached"}
    assert verify_token(SECRET, headers["Authorization"][7:]).jti == "detached"
