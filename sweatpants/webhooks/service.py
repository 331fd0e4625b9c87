"""Webhooks: the receivers told about job events, and the requests queued for them.

`Webhooks` keeps the registered webhooks (the store's `webhooks` table, plus the one of
`SWEATPANTS_WEBHOOK_URL`, id `env`, read-only), listens to the event bus, and for each job
event a webhook wants writes one delivery per webhook into the store's queue, which
`DeliveryQueue` sends. A module's `send_callback` arrives here too (`POST /deliveries`) and
goes through the same queue. Secrets are sealed before they are stored and never shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from sweatpants.config import Settings
from sweatpants.errors import Conflict, InvalidInput, NotFound
from sweatpants.events import EventBus
from sweatpants.jobs.models import iso
from sweatpants.secrets import SecretBox
from sweatpants.store import Store
from sweatpants.store import webhooks as sql
from sweatpants.store.webhooks import DeliveryRecord, WebhookRecord
from sweatpants.web.urls import redact_url
from sweatpants.webhooks import events as ev
from sweatpants.webhooks.delivery import DeliveryQueue, shown

log = logging.getLogger(__name__)

ENV_ID = "env"
MAX_URL = 2000
MAX_SECRET = 1000
MAX_WAIT = 300.0  # the longest a request may wait for a delivery's outcome
MAX_PAYLOAD = 1_000_000  # bytes of a callback's payload as JSON


def checked_url(value: Any, field: str = "url") -> str:
    """An http:// or https:// URL with a host; anything else is a 422 naming `field`."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required: an http:// or https:// URL", field=field)
    url = value.strip()
    if len(url) > MAX_URL:
        raise InvalidInput(f"{field} is longer than {MAX_URL} characters", field=field)
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidInput(
            f"{field} {redact_url(url)!r} is not an http:// or https:// URL with a host",
            field=field,
        )
    return url


def checked_secret(value: Any, field: str = "secret") -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_SECRET:
        raise InvalidInput(
            f"{field} must be a string of at most {MAX_SECRET} characters", field=field
        )
    return value


def checked_module(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidInput("module_id must be a module id (a string)", field="module_id")
    return value


def _wanted(webhook: dict[str, Any], event: str, module_id: str | None) -> bool:
    return (
        bool(webhook["enabled"])
        and event in webhook["events"]
        and (webhook["module_id"] is None or webhook["module_id"] == module_id)
    )


class Webhooks:
    def __init__(
        self, settings: Settings, store: Store, events: EventBus, secrets: SecretBox
    ) -> None:
        self._settings = settings
        self._store = store
        self._events = events
        self._secrets = secrets
        self.queue = DeliveryQueue(store, secrets, settings.webhook_retry_seconds)
        self._hooks: list[dict[str, Any]] = []  # what the bus listener matches against
        self._listener: asyncio.Task[None] | None = None
        self._outcomes: dict[str, asyncio.Event] = {}
        self._unlisten = self.queue.listen(self._attempted)

    # ---- lifecycle

    async def start(self) -> None:
        await self._reload()
        self._listener = asyncio.get_running_loop().create_task(self._listen())
        self.queue.start()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self.queue.stop()

    async def _reload(self) -> None:
        records = await self._store.read(sql.webhooks)
        hooks = [self._plain(record) for record in records]
        env = self._env_hook()
        self._hooks = [env, *hooks] if env is not None else hooks

    def _env_hook(self) -> dict[str, Any] | None:
        url = self._settings.webhook_url
        if not url:
            return None
        secret = self._settings.webhook_secret or None
        return {
            "id": ENV_ID,
            "url": url,
            "events": list(ev.ENDINGS),
            "module_id": None,
            "enabled": True,
            "secret": self._seal(secret),
            "created_at": None,
            "updated_at": None,
            "source": "environment",
        }

    @staticmethod
    def _plain(record: WebhookRecord) -> dict[str, Any]:
        return {
            "id": record.id,
            "url": record.url,
            "events": json.loads(record.events),
            "module_id": record.module_id,
            "enabled": bool(record.enabled),
            "secret": record.secret,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "source": "api",
        }

    @staticmethod
    def show(hook: dict[str, Any]) -> dict[str, Any]:
        """A webhook as the API shows it: the secret only as `has_secret`."""
        return {
            "id": hook["id"],
            "url": redact_url(hook["url"]),
            "events": hook["events"],
            "module_id": hook["module_id"],
            "enabled": hook["enabled"],
            "has_secret": bool(hook["secret"]),
            "source": hook["source"],
            "created_at": iso(hook["created_at"]),
            "updated_at": iso(hook["updated_at"]),
        }

    def _seal(self, secret: str | None) -> str | None:
        if not secret:
            return None
        return json.dumps(self._secrets.seal({"secret": secret}, {"secret"}))

    # ---- webhooks

    async def add(self, body: dict[str, Any]) -> dict[str, Any]:
        url = checked_url(body.get("url"))
        events = ev.checked_events(body.get("events"))
        module_id = checked_module(body.get("module_id"))
        secret = checked_secret(body.get("secret"))
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false", field="enabled")
        now = time.time()
        row = {
            "id": str(uuid.uuid4()),
            "url": url,
            "events": json.dumps(events),
            "module_id": module_id,
            "secret": self._seal(secret),
            "enabled": int(enabled),
            "created_at": now,
            "updated_at": now,
        }
        record = await self._store.write(lambda c: sql.add_webhook(c, row))
        await self._reload()
        return self.show(self._plain(record))

    def listed(self) -> list[dict[str, Any]]:
        return [self.show(hook) for hook in self._hooks]

    def _find(self, webhook_id: str) -> dict[str, Any]:
        for hook in self._hooks:
            if hook["id"] == webhook_id:
                return hook
        raise NotFound(f"no webhook with id {webhook_id!r}")

    def get(self, webhook_id: str) -> dict[str, Any]:
        return self.show(self._find(webhook_id))

    def _writable(self, webhook_id: str) -> dict[str, Any]:
        hook = self._find(webhook_id)
        if hook["source"] == "environment":
            raise Conflict(
                "this webhook comes from SWEATPANTS_WEBHOOK_URL; change or unset that "
                "variable (and restart) to change it"
            )
        return hook

    async def change(self, webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._writable(webhook_id)
        changes: dict[str, Any] = {}
        if "url" in body:
            changes["url"] = checked_url(body["url"])
        if "events" in body:
            changes["events"] = json.dumps(ev.checked_events(body["events"]))
        if "module_id" in body:
            changes["module_id"] = checked_module(body["module_id"])
        if "secret" in body:
            changes["secret"] = self._seal(checked_secret(body["secret"]))
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise InvalidInput("enabled must be true or false", field="enabled")
            changes["enabled"] = int(body["enabled"])
        changes["updated_at"] = time.time()
        record = await self._store.write(lambda c: sql.change_webhook(c, webhook_id, changes))
        if record is None:
            raise NotFound(f"no webhook with id {webhook_id!r}")
        await self._reload()
        return self.show(self._plain(record))

    async def remove(self, webhook_id: str) -> dict[str, Any]:
        self._writable(webhook_id)
        await self._store.write(lambda c: sql.remove_webhook(c, webhook_id))
        await self._reload()
        return {"status": "deleted", "id": webhook_id}

    async def test(self, webhook_id: str, wait: float) -> dict[str, Any]:
        """Queue a `webhook.test` delivery to this webhook; its outcome if it comes in `wait`."""
        hook = self._find(webhook_id)
        delivery_id = str(uuid.uuid4())
        payload = {
            "id": None,
            "webhook_id": webhook_id,
            "message": "a test delivery from sweatpants",
        }
        row = self._row(delivery_id, hook, ev.TEST, None, payload, token_sub=0)
        await self._enqueue([row])
        return await self.delivery(delivery_id, wait)

    # ---- deliveries

    def _row(
        self,
        delivery_id: str,
        hook: dict[str, Any],
        event: str,
        job_id: str | None,
        payload: Any,
        *,
        token_sub: int,
    ) -> dict[str, Any]:
        now = time.time()
        return {
            "id": delivery_id,
            "kind": "webhook",
            "webhook_id": hook["id"],
            "event": event,
            "job_id": job_id,
            "url": hook["url"],
            "payload": json.dumps(payload, separators=(",", ":"), ensure_ascii=False),
            "secret": hook["secret"],
            "token_sub": token_sub,
            "token_issuer": None,
            "next_attempt_at": now,
            "created_at": now,
        }

    async def _enqueue(self, rows: list[dict[str, Any]]) -> None:
        await self._store.write(lambda c: sql.enqueue(c, rows))
        self.queue.wake()

    async def send_callback(self, body: dict[str, Any]) -> dict[str, Any]:
        """Queue a module's signed callback (`POST /deliveries`); see `sdk/outbox.py`."""
        url = checked_url(body.get("url"))
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise InvalidInput("payload must be a JSON object", field="payload")
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if len(text.encode("utf-8")) > MAX_PAYLOAD:
            raise InvalidInput(f"payload is larger than {MAX_PAYLOAD:,} bytes", field="payload")
        secret = checked_secret(body.get("secret"))
        user_id = body.get("user_id", 0)
        if user_id is None:
            user_id = 0
        if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 0:
            raise InvalidInput("user_id must be an integer user id >= 0", field="user_id")
        issuer = body.get("issuer")
        if issuer is not None and (not isinstance(issuer, str) or len(issuer) > 200):
            raise InvalidInput("issuer must be a string", field="issuer")
        job_id = body.get("job_id")
        if job_id is not None and (not isinstance(job_id, str) or len(job_id) > 200):
            raise InvalidInput("job_id must be a job id", field="job_id")
        now = time.time()
        delivery_id = str(uuid.uuid4())
        row = {
            "id": delivery_id,
            "kind": "callback",
            "webhook_id": None,
            "event": ev.CALLBACK,
            "job_id": job_id,
            "url": url,
            "payload": text,
            "secret": self._seal(secret),
            "token_sub": user_id,
            "token_issuer": issuer,
            "next_attempt_at": now,
            "created_at": now,
        }
        await self._enqueue([row])
        return await self.delivery(delivery_id, 0)

    def _attempted(self, record: DeliveryRecord) -> None:
        waiter = self._outcomes.pop(record.id, None)
        if waiter is not None:
            waiter.set()

    async def delivery(self, delivery_id: str, wait: float = 0) -> dict[str, Any]:
        """A delivery; with `wait`, once it is delivered or failed, or after `wait` seconds."""
        deadline = time.monotonic() + max(0.0, min(wait, MAX_WAIT))
        while True:
            waiter = self._outcomes.setdefault(delivery_id, asyncio.Event())
            record = await self._store.read(lambda c: sql.delivery(c, delivery_id))
            if record is None:
                self._outcomes.pop(delivery_id, None)
                raise NotFound(f"no delivery with id {delivery_id!r}")
            left = deadline - time.monotonic()
            if record.status != "pending" or left <= 0:
                if not waiter.is_set() and record.status != "pending":
                    self._outcomes.pop(delivery_id, None)
                return shown(record)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), timeout=left)

    async def deliveries(
        self,
        *,
        webhook_id: str | None = None,
        job_id: str | None = None,
        before: str | None = None,
        limit: int = 100,
    ) -> dict[str, Any]:
        if webhook_id is not None:
            self._find(webhook_id)
        after: tuple[float, str] | None = None
        if before:
            last = await self._store.read(lambda c: sql.delivery(c, before))
            if last is None:
                raise InvalidInput(f"before: no delivery with id {before!r}", field="before")
            after = (last.created_at, last.id)
        records = await self._store.read(
            lambda c: sql.deliveries(
                c, webhook_id=webhook_id, job_id=job_id, before=after, limit=limit
            )
        )
        items = [shown(record) for record in records]
        return {
            "deliveries": items,
            "next_cursor": items[-1]["id"] if len(items) == limit else None,
        }

    # ---- the event bus

    async def _listen(self) -> None:
        """Turn job events into deliveries. A listener the bus dropped (it fell 1,000 events
        behind) subscribes again and says so."""
        while True:
            queue = self._events.subscribe()
            try:
                while True:
                    message = await queue.get()
                    if message is None:
                        log.warning("webhooks fell behind the event bus; listening again")
                        break
                    if message.get("type") == "job" and self._hooks:
                        await self._job_event(message["job"])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhooks: could not queue a delivery")
            finally:
                self._events.unsubscribe(queue)

    async def _job_event(self, job: dict[str, Any]) -> None:
        event = ev.event_of(job)
        if event is None:
            return
        module_id = job.get("module_id")
        hooks = [hook for hook in self._hooks if _wanted(hook, event, module_id)]
        if not hooks:
            return
        sub = job.get("created_by")
        token_sub = sub if isinstance(sub, int) and not isinstance(sub, bool) else 0
        rows = [
            self._row(str(uuid.uuid4()), hook, event, job.get("id"), job, token_sub=token_sub)
            for hook in hooks
        ]
        await self._enqueue(rows)
