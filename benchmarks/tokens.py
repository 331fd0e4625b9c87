"""Signed tokens and the callbacks inbox (issue 15): what they cost.

1. In process: `mint_token` and `verify_token`, µs per call.
2. A daemon with a master token and a signed-token secret: `GET /jobs?limit=1` asked N times
   one after another on one keep-alive connection with the master token, then with a signed
   token (verified and scope-checked on every request): client p50/p99 and the daemon's CPU
   per request, so the signed token's extra cost shows beside the master token's.
3. `POST /callbacks` → a `WS /callbacks/wait` socket opened before it receives the callback:
   p50/p99 over R rounds (what a waiting job sees, without its process).

    .venv/bin/python benchmarks/tokens.py [--quick] [--count N] [--rounds R]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from common import (
    Daemon,
    Figure,
    arguments,
    attempt,
    cpu_seconds,
    percentile,
    print_table,
    source_dir,
    write_json,
)

MASTER = "bench-master-token"
SECRET = "bench-signed-token-secret"


class TokenDaemon(Daemon):
    """The bench daemon, asked with the master token (its start-up probe included)."""

    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {MASTER}"}
            )
        return self._client


@contextlib.contextmanager
def token_daemon() -> Iterator[TokenDaemon]:
    tmp = Path(tempfile.mkdtemp(prefix="sweatpants-bench-"))
    env = {
        "SWEATPANTS_API_AUTH_TOKEN": MASTER,
        "SWEATPANTS_API_SIGNED_TOKEN_SECRET": SECRET,
        "SWEATPANTS_LOG_LEVEL": "WARNING",
    }
    daemon = TokenDaemon(tmp / "data", env)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="requests per kind of token (2,000)")
    parser.add_argument("--rounds", type=int, help="callbacks delivered to a waiter (100)")


def in_process(count: int) -> list[Figure]:
    sys.path.insert(0, str(source_dir()))
    from sweatpants.tokens import mint_token, verify_token

    started = time.perf_counter()
    tokens = [mint_token(SECRET, 42, "jobs:read jobs:write", 3600) for _ in range(count)]
    minted = (time.perf_counter() - started) / count * 1e6
    started = time.perf_counter()
    for token in tokens:
        verify_token(SECRET, token)
    verified = (time.perf_counter() - started) / count * 1e6
    return [
        Figure("token_mint_us", "mint_token", minted, "µs/call"),
        Figure("token_verify_us", "verify_token", verified, "µs/call"),
    ]


def requests(daemon: Any, token: str, count: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, daemon CPU-µs per request) of GET /jobs?limit=1 with `token`."""
    client = daemon.client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(20):  # warm the connection and the routes
        client.get("/jobs", params={"limit": 1}, headers=headers)
    times = []
    cpu_before = cpu_seconds(daemon.pid)
    for _ in range(count):
        started = time.perf_counter()
        answer = client.get("/jobs", params={"limit": 1}, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET /jobs answered {answer.status_code}: {answer.text[:200]}")
    cpu = (cpu_seconds(daemon.pid) - cpu_before) / count * 1e6
    return percentile(times, 50), percentile(times, 99), cpu


def callback_latency(daemon: Any, rounds: int) -> tuple[float, float]:
    from websockets.sync.client import connect

    headers = {"Authorization": f"Bearer {MASTER}"}
    times = []
    for n in range(rounds):
        callback_id = f"bench-{n}"
        with connect(
            daemon.ws_url(f"/callbacks/wait?callback_id={callback_id}"),
            additional_headers=headers,
        ) as socket:
            started = time.perf_counter()
            daemon.client().post(
                "/callbacks",
                json={"callback_id": callback_id, "payload": {"n": n}},
                headers=headers,
            )
            for _ in range(100):  # pings may come first
                message = json.loads(socket.recv(timeout=30))
                if message["type"] == "callback":
                    break
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 99)


def main() -> None:
    args = arguments(__doc__ or "", extend)
    count = args.count or (300 if args.quick else 2_000)
    rounds = args.rounds or (20 if args.quick else 100)
    errors: list[str] = []
    figures = attempt(errors, "in process", lambda: in_process(20_000 if not args.quick else 2_000))
    figures = list(figures or [])
    with token_daemon() as daemon:
        sys.path.insert(0, str(source_dir()))
        from sweatpants.tokens import mint_token

        signed = mint_token(SECRET, 42, "jobs:read", 3600)
        for label, token in (("master token", MASTER), ("signed token", signed)):
            measured = attempt(errors, label, lambda t=token: requests(daemon, t, count))
            if measured is None:
                continue
            p50, p99, cpu = measured
            key = label.split()[0]
            figures += [
                Figure(f"jobs_{key}_p50_ms", f"GET /jobs, {label}, p50", p50, "ms"),
                Figure(f"jobs_{key}_p99_ms", f"GET /jobs, {label}, p99", p99, "ms"),
                Figure(f"jobs_{key}_cpu_us", f"GET /jobs, {label}, daemon CPU", cpu, "µs/req"),
            ]
        latency = attempt(errors, "callback wait", lambda: callback_latency(daemon, rounds))
        if latency is not None:
            figures += [
                Figure("callback_wait_p50_ms", "POST /callbacks → waiter, p50", latency[0], "ms"),
                Figure("callback_wait_p99_ms", "POST /callbacks → waiter, p99", latency[1], "ms"),
            ]
    print_table(f"Signed tokens ({count} requests each) and callbacks ({rounds})", figures, errors)
    write_json(args.json, "tokens", figures, errors=errors)


if __name__ == "__main__":
    main()
