"""Messages between the daemon and its Ray bridge process over a socketpair.

Each message: an 8-byte header (JSON length, payload length, big-endian), a JSON object, and
an optional binary payload (the runner's raw protocol bytes, relayed without parsing).

Daemon → bridge: {"op": "launch", "job", "spec"}, {"op": "cancel"|"terminate"|"kill", "job"},
{"op": "more", "job"} (credit: the daemon consumed one data message of that job).
Bridge → daemon: {"ev": "ready"|"failed", ...}, {"ev": "status", ...},
{"ev": "started", "job", "pid", "node"}, {"ev": "launch_failed", "job", "error"},
{"ev": "data", "job"} + payload, {"ev": "exit", "job", "code", "signal", "reason", "resume"}.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

HEADER = struct.Struct(">II")


def encode(message: dict[str, Any], payload: bytes = b"") -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return HEADER.pack(len(body), len(payload)) + body + payload


async def read(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes] | None:
    """The next message, or None when the other side has gone."""
    try:
        header = await reader.readexactly(HEADER.size)
        body_length, payload_length = HEADER.unpack(header)
        body = await reader.readexactly(body_length)
        payload = await reader.readexactly(payload_length) if payload_length else b""
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    message: dict[str, Any] = json.loads(body)
    return message, payload
