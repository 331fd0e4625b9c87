"""The `Module` base class every Sweatpants module subclasses.

Compatible with modules written for the earlier engine: the same names, the same
signatures. A module is an async generator `run(inputs, settings)` that yields dict results;
it talks to the engine through `log`, `save_checkpoint`, `get_checkpoint`, `progress` and
reads `is_cancelled` / `job_id`. The job context behind these is supplied by the runner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from typing import Any, Protocol


class JobContext(Protocol):
    """What a running job offers its module; the runner implements it."""

    @property
    def job_id(self) -> str: ...

    @property
    def is_cancelled(self) -> bool: ...

    async def log(self, message: str, level: str) -> None: ...

    async def save_checkpoint(self, data: dict[str, Any]) -> None: ...

    async def progress(self, done: float, total: float | None) -> None: ...


class _DetachedContext:
    """Used when a module is built outside a job (a unit test of the module): logs go nowhere."""

    job_id = "detached"
    is_cancelled = False

    async def log(self, message: str, level: str) -> None:
        return None

    async def save_checkpoint(self, data: dict[str, Any]) -> None:
        return None

    async def progress(self, done: float, total: float | None) -> None:
        return None


class Module(ABC):
    """Subclass this and implement `run` as an async generator yielding dict results.

    Example::

        class Hello(Module):
            async def run(self, inputs, settings):
                for i in range(inputs["count"]):
                    await self.log(f"greeting {i}")
                    yield {"greeting": f"hello {inputs['name']}", "n": i}
    """

    def __init__(self, context: JobContext | None = None) -> None:
        self._context: JobContext = context if context is not None else _DetachedContext()
        self._checkpoint: dict[str, Any] = {}

    @property
    def job_id(self) -> str:
        """The id of the job this module runs in."""
        return self._context.job_id

    @property
    def is_cancelled(self) -> bool:
        """True once the job has been asked to stop; check it between units of work."""
        return self._context.is_cancelled

    async def log(self, message: str, level: str = "INFO") -> None:
        """Record a log line (DEBUG, INFO, WARNING, ERROR) for this job."""
        await self._context.log(str(message), str(level).upper())

    async def save_checkpoint(self, **data: Any) -> None:
        """Merge `data` into the checkpoint; a resumed job starts with the last one saved.

        Results yielded before this call are kept across a restart; results yielded after the
        last checkpoint are dropped at resume, because the module will produce them again.
        """
        self._checkpoint.update(data)
        await self._context.save_checkpoint(dict(self._checkpoint))

    def get_checkpoint(self, key: str, default: Any = None) -> Any:
        """A value from the last saved checkpoint, or `default`."""
        return self._checkpoint.get(key, default)

    def restore_checkpoint(self, checkpoint: dict[str, Any] | None) -> None:
        """Called by the runner before `run` when a job resumes."""
        if checkpoint:
            self._checkpoint = dict(checkpoint)

    async def progress(self, done: float, total: float | None = None) -> None:
        """Report progress so the dashboard can draw a bar: `done` of `total` units."""
        await self._context.progress(done, total)

    async def wait_for_callback(
        self, callback_id: str, timeout: float | None = None
    ) -> dict[str, Any]:
        """Wait until a callback with `callback_id` is POSTed to the daemon's `/callbacks` and
        return its `payload` (at once if one already arrived; the newest if several did).

        The job stays `running` meanwhile. If the daemon restarts, the job resumes and, asking
        again, gets the callback that arrived while it was down. Raises `CallbackTimeout` (a
        `TimeoutError`) after `timeout` seconds; None waits for as long as the job runs.
        """
        from sweatpants.sdk import inbox, runtime

        services = runtime.current().services
        return await inbox.wait_for_callback(
            services, callback_id, timeout, lambda: self.is_cancelled
        )

    async def send_signed_callback(
        self,
        url: str,
        payload: dict[str, Any],
        secret: str | None,
        *,
        issuer: str = "sweatpants",
        user_id: int | None = None,
    ) -> bool:
        """The earlier engine's best-effort callback: one signed POST of `payload` (with this
        job's id added as `job_id` unless present) to `url`; True on a 2xx answer. Failures
        are logged as warnings, never raised. `self.send_callback` is the durable one."""
        from sweatpants.sdk.callback import send_signed_callback

        body = dict(payload)
        body.setdefault("job_id", self.job_id)
        return await send_signed_callback(
            url,
            body,
            secret,
            issuer=issuer,
            user_id=user_id,
            job_id=self.job_id,
            log=self.log,
        )

    async def send_callback(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        secret: str | None = None,
        user_id: int | None = None,
        issuer: str | None = None,
        wait: float = 30.0,
    ) -> bool:
        """POST `payload` to `url` through the daemon's durable delivery queue, signed with
        `secret` as the earlier engine's callbacks are (`Authorization: Bearer <token>`,
        scope `callback:write`, `jti` = this job's id, `sub` = `user_id`) plus an
        `X-Sweatpants-Signature`. Failures (no answer, 408, 429, 5xx) are retried with
        backoff for up to a day, across daemon restarts; the delivery log shows each attempt.
        Returns True when the receiver answered 2xx within `wait` seconds (it may still be
        delivered later when False)."""
        from sweatpants.sdk import outbox, runtime

        return await outbox.send_callback(
            runtime.current().services,
            self.job_id,
            url,
            payload,
            secret=secret,
            user_id=user_id,
            issuer=issuer,
            wait=wait,
        )

    @abstractmethod
    def run(
        self, inputs: dict[str, Any], settings: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        """The module's work, as an async generator yielding dict results."""
