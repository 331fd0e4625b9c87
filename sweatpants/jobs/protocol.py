"""The message stream between a job's runner and the daemon.

It does not care about its transport: today a pipe between a local child process and the
daemon, later any byte stream (a runner on another machine). Runner → daemon: frames, each a
4-byte big-endian length and a JSON array of messages, so the daemon parses one JSON document
per batch instead of one per row. Daemon → runner: single-line commands.

Messages (first element is the kind):
  ["l", ts, level, message]      a log line
  ["r", ts, data_json]           a result; the runner serialises `data` itself (JSON text)
  ["c", checkpoint_json]         a checkpoint; results before it survive a resume
  ["p", done, total]             progress
  ["d"]                          run() finished normally; the runner then exits EXIT_DONE
  ["e", error, traceback]        run() raised; the runner then exits EXIT_ERROR

A runner's last frame thus says how its process will end, which is how the daemon learns it
when nobody can tell it the exit status (the fork server that was the job's parent is gone).
"""

from __future__ import annotations

import json
import struct
from dataclasses import asdict, dataclass, field
from typing import Any

LOG = "l"
RESULT = "r"
CHECKPOINT = "c"
PROGRESS = "p"
DONE = "d"
ERROR = "e"

EXIT_DONE = 0
EXIT_ERROR = 1

CANCEL = b"cancel\n"

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024


def check_length(length: int) -> int:
    """A frame's announced length, refused when no honest runner would send it."""
    if length > MAX_FRAME:
        raise ValueError(
            f"the job's runner announced a {length:,}-byte frame (the limit is {MAX_FRAME:,}); "
            "its output stream is corrupt"
        )
    return length


def encode_frame(messages: list[list[Any]]) -> bytes:
    body = json.dumps(messages, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(len(body)) + body


def decode_frame(body: bytes) -> list[list[Any]]:
    messages: list[list[Any]] = json.loads(body)
    return messages


@dataclass
class JobSpec:
    """Everything a runner needs to run one job, in plain data (it crosses a process boundary)."""

    job_id: str
    module_id: str
    module_dir: str
    entrypoint: str
    deps_path: str | None
    inputs: dict[str, Any]
    settings: dict[str, Any]
    checkpoint: dict[str, Any] | None
    services: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
