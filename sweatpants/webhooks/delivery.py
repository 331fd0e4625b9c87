"""The delivery queue: sends what `deliveries` holds, retries what failed, records each attempt.

One asyncio task reads the due deliveries and sends each from a task of its own, at most
`CONCURRENCY` at once, each bounded by `TIMEOUT`. Nothing a receiver does can hold up a job or
the API: a receiver that never answers costs one of those slots for `TIMEOUT` seconds, then
the attempt counts as failed and waits for its next turn.

Outcomes: 2xx is delivered. Connection failures, timeouts, 408, 429 and 5xx are tried again
after `retry_seconds`, doubled after each failure (at most `MAX_DELAY`, a `Retry-After` the
receiver sends is honoured up to that), until `GIVE_UP_AFTER` (a day) from the first attempt;
then the delivery fails. Any other answer (other 4xx, 3xx: redirects are not followed) is
final. Each outcome is one write; the queue lives in the store, so a daemon that stops or
is killed between attempts loses nothing. A request in flight when the daemon dies is sent
again at the next start (receivers deduplicate by the `X-Sweatpants-Delivery` header).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sweatpants.errors import SweatpantsError
from sweatpants.jobs.models import iso
from sweatpants.secrets import SecretBox
from sweatpants.store import Store
from sweatpants.store import webhooks as sql
from sweatpants.store.webhooks import DeliveryRecord
from sweatpants.webhooks import signing
from sweatpants.webhooks.events import CALLBACK

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

CONCURRENCY = 8  # attempts in flight at once
TIMEOUT = 10.0  # seconds for one attempt, connect included
CONNECT_TIMEOUT = 5.0
MAX_DELAY = 3600.0  # the longest wait between two attempts
GIVE_UP_AFTER = 86400.0  # a delivery still failing a day after it was queued fails for good
IDLE_POLL = 5.0  # the longest the loop sleeps without a wake-up
WRITE_RETRY = 5.0  # an outcome that could not be stored (full disk): wait before sending again
ERROR_TEXT = 300  # characters of a failed answer's body kept in the delivery log

Listener = Callable[[DeliveryRecord], None]


def retryable(code: int | None) -> bool:
    """None (no answer), 408, 429 and 5xx are worth another attempt; other codes are final."""
    return code is None or code in (408, 429) or code >= 500


def retry_after(value: str | None) -> float | None:
    """A `Retry-After` in seconds (the HTTP-date form is ignored)."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


class DeliveryQueue:
    def __init__(
        self,
        store: Store,
        secrets: SecretBox,
        retry_seconds: float,
        *,
        concurrency: int = CONCURRENCY,
        timeout: float = TIMEOUT,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._retry_seconds = retry_seconds
        self._concurrency = concurrency
        self._timeout = timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, float] = {}  # id → monotonic time: outcome not stored, wait
        self._client: httpx.AsyncClient | None = None
        self._listeners: set[Listener] = set()

    # ---- lifecycle

    def start(self) -> None:
        import httpx

        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT, self._timeout)),
            follow_redirects=False,
            trust_env=False,  # straight to the receiver: no proxy from the environment
            limits=httpx.Limits(max_connections=self._concurrency * 2),
        )
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in [self._task, *self._in_flight.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """Something was queued: look at the queue now rather than at the next poll."""
        self._wake.set()

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with each attempt's stored outcome; returns how to stop."""
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    # ---- the loop

    async def _run(self) -> None:
        while True:
            try:
                await self._start_due()
                delay = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bug or a read failing must not end the queue for good
                log.exception("webhook delivery queue: unexpected error")
                delay = IDLE_POLL
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def _start_due(self) -> None:
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return
        now_mono = time.monotonic()
        self._held = {k: v for k, v in self._held.items() if v > now_mono}
        skip = [*self._in_flight, *self._held]
        due = await self._store.read(lambda c: sql.due(c, time.time(), free, skip))
        for record in due:
            task = asyncio.get_running_loop().create_task(self._attempt(record))
            self._in_flight[record.id] = task
            task.add_done_callback(functools.partial(self._attempt_done, record.id))

    def _attempt_done(self, delivery_id: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(delivery_id, None)
        self._wake.set()

    async def _until_next(self) -> float:
        """Seconds until the next delivery not in flight is due (at most IDLE_POLL)."""
        if len(self._in_flight) >= self._concurrency:
            return IDLE_POLL  # a finishing attempt wakes the loop
        next_at = await self._store.read(sql.next_due_at)
        if next_at is None:
            return IDLE_POLL
        return min(IDLE_POLL, max(0.05, next_at - time.time()))

    # ---- one attempt

    async def _attempt(self, record: DeliveryRecord) -> None:
        assert self._client is not None
        now = time.time()
        try:
            body, headers = self._request(record, now)
        except SweatpantsError as exc:  # its secret cannot be opened (another key file)
            await self._store_outcome(record, now, None, 0.0, exc.detail, final=True)
            return
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        wait_hint: float | None = None
        try:
            # The whole attempt, not each read: a receiver trickling bytes is cut off too.
            async with asyncio.timeout(self._timeout):
                async with self._client.stream(
                    "POST", record.url, content=body, headers=headers
                ) as response:
                    code = response.status_code
                    wait_hint = retry_after(response.headers.get("retry-after"))
                    if not 200 <= code < 300:
                        error = await _answer_text(response)
        except Exception as exc:  # httpx's errors and anything odd a URL leads to
            if code is not None and 200 <= code < 300:
                error = None  # answered 2xx; what came after does not matter
            else:
                code, error = None, _failure(exc, self._timeout)
        elapsed_ms = (time.monotonic() - started) * 1000
        await self._store_outcome(record, now, code, elapsed_ms, error, wait_hint=wait_hint)

    def _request(self, record: DeliveryRecord, now: float) -> tuple[bytes, dict[str, str]]:
        """The body and headers of one attempt (a webhook's body says when it was sent)."""
        payload = json.loads(record.payload)
        if record.kind != CALLBACK and isinstance(payload, dict):
            payload = {**payload, "event": record.event, "delivered_at": iso(now)}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        secret = None
        if record.secret:
            secret = self._secrets.unseal(json.loads(record.secret)).get("secret")
        headers = signing.headers(
            body=body,
            event=record.event,
            delivery_id=record.id,
            now=now,
            secret=str(secret) if secret else None,
            sub=record.token_sub or 0,
            issuer=record.token_issuer,
            jti=record.job_id or record.id,
        )
        return body, headers

    async def _store_outcome(
        self,
        record: DeliveryRecord,
        now: float,
        code: int | None,
        elapsed_ms: float,
        error: str | None,
        *,
        final: bool = False,
        wait_hint: float | None = None,
    ) -> None:
        attempts = record.attempts + 1
        delivered = code is not None and 200 <= code < 300
        next_at = now
        if delivered:
            status, error = "delivered", None
        elif final or not retryable(code):
            status = "failed"
            if code is not None and 300 <= code < 400:
                error = (error or "") + " (redirects are not followed: give the final URL)"
        else:
            delay = min(MAX_DELAY, self._retry_seconds * 2 ** (attempts - 1))
            if wait_hint is not None:
                delay = max(delay, min(wait_hint, MAX_DELAY))
            next_at = time.time() + delay
            if next_at - record.created_at > GIVE_UP_AFTER:
                status = "failed"
                error = f"{error or 'failed'}; gave up after {attempts} attempts over a day"
            else:
                status = "pending"
        outcome = {
            "status": status,
            "next_attempt_at": next_at,
            "last_attempt_at": now,
            "response_code": code,
            "duration_ms": round(elapsed_ms, 1),
            "error": error,
            "delivered_at": now if delivered else None,
        }
        try:
            stored = await self._store.write(lambda c: sql.record_attempt(c, record.id, outcome))
        except SweatpantsError as exc:  # a full disk: send again later, when it may be stored
            log.error("delivery %s: outcome not stored: %s", record.id, exc.detail)
            self._held[record.id] = time.monotonic() + WRITE_RETRY
            return
        if status == "failed":
            log.warning("delivery %s to %s failed: %s", record.id, record.url, error)
        if stored is not None:
            for listener in list(self._listeners):
                listener(stored)


async def _answer_text(response: httpx.Response) -> str:
    """`HTTP 500: <the start of the body>`, reading no more of the body than that."""
    text = b""
    async for chunk in response.aiter_bytes():
        text += chunk
        if len(text) >= ERROR_TEXT:
            break
    shown = text[:ERROR_TEXT].decode("utf-8", "replace").strip()
    reason = response.reason_phrase or ""
    return f"HTTP {response.status_code} {reason}".strip() + (f": {shown}" if shown else "")


def _failure(exc: Exception, timeout: float) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return f"no answer within {timeout:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {exc or type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}"


def shown(record: DeliveryRecord) -> dict[str, Any]:
    """A delivery as the API shows it (no payload, no secret; the URL's password hidden)."""
    from sweatpants.web.urls import redact_url

    return {
        "id": record.id,
        "kind": record.kind,
        "webhook_id": record.webhook_id,
        "event": record.event,
        "job_id": record.job_id,
        "url": redact_url(record.url),
        "status": record.status,
        "attempts": record.attempts,
        "next_attempt_at": iso(record.next_attempt_at) if record.status == "pending" else None,
        "created_at": iso(record.created_at),
        "last_attempt_at": iso(record.last_attempt_at),
        "response_code": record.response_code,
        "duration_ms": record.duration_ms,
        "error": record.error,
        "delivered_at": iso(record.delivered_at),
    }
