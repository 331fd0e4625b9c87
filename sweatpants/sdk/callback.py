"""Signed completion callbacks, with the earlier engine's names and signatures.

`sign_callback_token(secret, issuer=, user_id=, job_id=, scope=, ttl_seconds=)` mints the
token format of `sweatpants.tokens` (claims `iss`, `sub`, `scope`, `exp`, `jti`; compact JSON,
base64url without padding), so a receiver verifies callbacks and user tokens with one
verifier. `await send_signed_callback(url, payload, secret, ...)` is the earlier engine's
best-effort sender: one POST, a bounded timeout, failures reported through `log` as warnings
and never raised; it returns True when the receiver answered 2xx (it took ownership).

For delivery that survives failures and restarts, a module uses `self.send_callback` (the
daemon's durable queue) instead. Standard library only: importing this costs a job nothing.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

from sweatpants.tokens import CALLBACK_SCOPE, CALLBACK_TTL, DEFAULT_ISSUER, mint_token
from sweatpants.version import __version__

DEFAULT_CALLBACK_TTL_SECONDS = CALLBACK_TTL
DEFAULT_CALLBACK_TIMEOUT_SECONDS = 30
# Honest and attributable: receivers' edge firewalls block generic library agents
# (`Python-urllib/3.x`), and a browser's agent would be a lie for server-to-server traffic.
CALLBACK_USER_AGENT = f"Sweatpants/{__version__} (signed callback)"

LogFunction = Callable[[str, str], Awaitable[None]]

__all__ = [
    "CALLBACK_SCOPE",
    "CALLBACK_USER_AGENT",
    "DEFAULT_CALLBACK_TIMEOUT_SECONDS",
    "DEFAULT_CALLBACK_TTL_SECONDS",
    "callback_headers",
    "send_signed_callback",
    "sign_callback_token",
]


def sign_callback_token(
    secret: str,
    *,
    issuer: str = DEFAULT_ISSUER,
    user_id: int | None = None,
    job_id: str | None = None,
    scope: str = CALLBACK_SCOPE,
    ttl_seconds: int = DEFAULT_CALLBACK_TTL_SECONDS,
) -> str:
    """A signed token for a callback: `sub` = `user_id` (0 when None: pass a real user id,
    verifiers refuse 0), `jti` = `job_id` when given, valid `ttl_seconds` from now.
    ValueError when `secret` is empty."""
    if not secret:
        raise ValueError("a non-empty secret is needed to sign a callback token")
    return mint_token(
        secret,
        int(user_id) if user_id is not None else 0,
        scope,
        ttl_seconds,
        issuer=issuer,
        jti=str(job_id) if job_id else None,
    )


def callback_headers(token: str | None) -> dict[str, str]:
    """The headers of a callback request (the earlier engine's, with an honest agent)."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": CALLBACK_USER_AGENT,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


async def send_signed_callback(
    url: str,
    payload: dict[str, Any],
    secret: str | None,
    *,
    issuer: str = DEFAULT_ISSUER,
    user_id: int | None = None,
    job_id: str | None = None,
    timeout: float = DEFAULT_CALLBACK_TIMEOUT_SECONDS,
    log: LogFunction | None = None,
) -> bool:
    """POST `payload` as JSON to `url`, signed when `secret` is given; True on a 2xx answer.

    Never raises for a failed delivery: an unserializable payload, a network error or a
    non-2xx answer is reported through `log` at WARNING and gives False.
    """

    async def say(message: str, level: str = "INFO") -> None:
        if log is not None:
            try:
                await log(message, level)
            except Exception:  # a failing logger must not fail the callback
                return

    try:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        await say(f"signed callback not sent: the payload is not JSON ({exc})", "WARNING")
        return False
    if urllib.parse.urlsplit(url).scheme.lower() not in ("http", "https"):
        await say(f"signed callback not sent: {url!r} is not an http(s) URL", "WARNING")
        return False
    token = None
    if secret:
        token = sign_callback_token(secret, issuer=issuer, user_id=user_id, job_id=job_id)
    request = urllib.request.Request(url, data=body, headers=callback_headers(token), method="POST")
    await say(f"sending signed callback to {url}")
    try:
        status, detail = await asyncio.to_thread(_post, request, timeout)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused; ValueError: a bad URL
        await say(f"signed callback to {url} failed: {exc}", "WARNING")
        return False
    if 200 <= status < 300:
        await say(f"signed callback acknowledged (HTTP {status})")
        return True
    await say(f"signed callback to {url} answered HTTP {status}: {detail[:200]}", "WARNING")
    return False


def _post(request: urllib.request.Request, timeout: float) -> tuple[int, str]:
    """(status, start of the body of an error answer)."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(getattr(response, "status", 200)), ""
    except urllib.error.HTTPError as exc:
        detail = exc.read(1024).decode("utf-8", errors="replace") if exc.fp else ""
        return exc.code, detail
