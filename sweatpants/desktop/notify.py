"""Desktop notifications when a job completes or fails, where the platform allows.

The tray icon's own `notify` is used when its backend has one (Windows balloons, macOS,
the freedesktop notification service over D-Bus on Linux); else `notify-send` if present.
Nothing is shown when neither works, and nothing is raised: a missing notification
service must never disturb the app.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from typing import Any, Protocol

log = logging.getLogger(__name__)


class _NotifyingIcon(Protocol):
    HAS_NOTIFICATION: bool

    def notify(self, message: str, title: str | None = None) -> None: ...


def job_message(job: dict[str, Any]) -> tuple[str, str]:
    """Title and body of the notification for an ended job."""
    module = str(job.get("module_id") or "job")
    short = str(job.get("id", ""))[:8]
    if job.get("status") == "failed":
        error = str(job.get("error") or "no error message").splitlines()[0][:200]
        if job.get("schedule_id"):  # a scheduled run fails only after its last retry
            attempts = job.get("attempt")
            tries = (
                f"after {attempts} attempts"
                if isinstance(attempts, int) and attempts > 1
                else "(no retries)"
            )
            return f"Scheduled run of {module} failed", f"Job {short} {tries}: {error}"
        return f"{module} failed", f"Job {short}: {error}"
    results = job.get("result_count")
    detail = f"{results} results" if isinstance(results, int) else "done"
    return f"{module} completed", f"Job {short}: {detail}"


class Notifier:
    """Send one notification at a time; failures are logged at debug level and dropped."""

    def __init__(self, icon: _NotifyingIcon | None) -> None:
        self._icon = icon
        self._notify_send = (
            shutil.which("notify-send") if sys.platform.startswith("linux") else None
        )

    def job_ended(self, job: dict[str, Any]) -> None:
        title, body = job_message(job)
        self.send(title, body)

    def send(self, title: str, message: str) -> None:
        if self._icon is not None and getattr(self._icon, "HAS_NOTIFICATION", False):
            try:
                self._icon.notify(message, title)
                return
            except Exception as exc:
                log.debug("desktop: tray notification failed: %s", exc)
        if self._notify_send:
            try:
                subprocess.run(
                    [self._notify_send, "--app-name=Sweatpants", title, message],
                    capture_output=True,
                    timeout=5,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                log.debug("desktop: notify-send failed: %s", exc)
