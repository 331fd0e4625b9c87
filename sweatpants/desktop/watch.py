"""What the tray shows, from a light poll of the daemon's `/status` (and `/jobs` for names).

`StatusTracker` is the pure part: it turns a `/status` answer into a `TraySnapshot` (idle,
running or failed-since-last-look, with counts for the tooltip; a full or low disk shows as
failed, with the free space and the directory first in the tooltip and the menu) and a page of `/jobs` into
the jobs that ended since the previous look (for notifications). `Watcher` is the thread
that polls once a second and hands both to callbacks.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from sweatpants.desktop.icons import TrayState
from sweatpants.sizes import human_bytes

log = logging.getLogger(__name__)

ENDED_NOTIFIED = frozenset({"completed", "failed"})
ENDED = frozenset({"completed", "failed", "stopped"})
SEEN_LIMIT = 2000


@dataclass(frozen=True)
class TraySnapshot:
    """Counts behind the icon; `reachable` is False while the daemon does not answer."""

    reachable: bool = True
    running: int = 0
    pending: int = 0
    failed_unseen: int = 0
    disk_low: bool = False  # the daemon takes no new jobs until space returns
    disk_full: bool = False  # ... because a write already failed for lack of space
    disk_free: int = 0  # bytes, while the disk is low
    disk_path: str = ""
    next_run: str = ""  # "Next run: NAME at 06:00" ('' when no schedule is enabled)

    @property
    def state(self) -> TrayState:
        if self.failed_unseen > 0 or self.disk_low:
            return TrayState.FAILED
        if self.running or self.pending:
            return TrayState.RUNNING
        return TrayState.IDLE

    @property
    def status_line(self) -> str:
        if not self.reachable:
            return "Engine not answering"
        parts = [f"{self.running} running"]
        if self.pending:
            parts.append(f"{self.pending} waiting")
        if self.failed_unseen:
            parts.append(f"{self.failed_unseen} failed")
        line = "Idle (0 running)" if parts == ["0 running"] else ", ".join(parts)
        if self.disk_low:
            word = "full" if self.disk_full else "low"
            where = f" in {self.disk_path}" if self.disk_path else ""
            return f"Disk {word}: {human_bytes(self.disk_free)} free{where} · {line}"
        return line

    @property
    def tooltip(self) -> str:
        return f"Sweatpants: {self.status_line}"


def _count(counts: Any, key: str) -> int:
    value = counts.get(key, 0) if isinstance(counts, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0


class StatusTracker:
    """Remembers what the user has seen: failures before the last look do not count."""

    def __init__(self) -> None:
        self._failed_total: int | None = None
        self._failed_seen: int | None = None
        self._ended_seen: set[str] | None = None
        self._ended_order: deque[str] = deque()

    def snapshot(self, status: dict[str, Any]) -> TraySnapshot:
        counts = status.get("counts", {})
        failed = _count(counts, "failed")
        if self._failed_seen is None or failed < self._failed_seen:
            self._failed_seen = failed  # failures from before the app started were not news
        self._failed_total = failed
        disk = status.get("disk")
        disk = disk if isinstance(disk, dict) else {}
        low = disk.get("low") is True
        return TraySnapshot(
            reachable=True,
            running=_count(counts, "running"),
            pending=_count(counts, "pending"),
            failed_unseen=failed - self._failed_seen,
            disk_low=low,
            disk_full=low and disk.get("full") is True,
            disk_free=_count(disk, "free_bytes") if low else 0,
            disk_path=str(disk.get("path") or "") if low else "",
            next_run=next_run_line(status.get("schedules")),
        )

    def mark_seen(self) -> None:
        """The user looked at the dashboard: failures so far are no longer news."""
        if self._failed_total is not None:
            self._failed_seen = self._failed_total

    def ended_jobs(self, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Jobs of this page that completed or failed since the previous call (oldest first).

        The first call only learns what had already ended, so a start-up does not replay
        old notifications.
        """
        first = self._ended_seen is None
        seen = self._ended_seen if self._ended_seen is not None else set()
        self._ended_seen = seen
        fresh = []
        for job in reversed(jobs):  # /jobs is newest first
            job_id = job.get("id")
            if not isinstance(job_id, str) or job.get("status") not in ENDED or job_id in seen:
                continue
            seen.add(job_id)
            self._ended_order.append(job_id)
            if not first and job.get("status") in ENDED_NOTIFIED:
                fresh.append(job)
        while len(self._ended_order) > SEEN_LIMIT:
            seen.discard(self._ended_order.popleft())
        return fresh


def next_run_line(schedules: Any, now: datetime | None = None) -> str:
    """`Next run: NAME at 06:00` (a date when not today) from `/status`'s `schedules`."""
    upcoming = schedules.get("next") if isinstance(schedules, dict) else None
    if not isinstance(upcoming, dict) or not isinstance(upcoming.get("at"), str):
        return ""
    try:
        at = datetime.fromisoformat(upcoming["at"].replace("Z", "+00:00")).astimezone()
    except ValueError:
        return ""
    today = (now or datetime.now().astimezone()).date()
    when = at.strftime("%H:%M") if at.date() == today else at.strftime("%a %d %b %H:%M")
    name = upcoming.get("name") or upcoming.get("module_id") or "schedule"
    return f"Next run: {name} at {when}"


def _ended_total(status: dict[str, Any]) -> int:
    counts = status.get("counts", {})
    return sum(_count(counts, key) for key in ENDED)


class Watcher:
    """Polls the daemon; calls `on_snapshot` when the picture changes and `on_ended` per job."""

    def __init__(
        self,
        url: str,
        headers: dict[str, str],
        on_snapshot: Callable[[TraySnapshot], None],
        on_ended: Callable[[dict[str, Any]], None],
        interval: float = 1.0,
    ) -> None:
        self.tracker = StatusTracker()
        self._client = httpx.Client(base_url=url, headers=headers, timeout=5.0)
        self._on_snapshot = on_snapshot
        self._on_ended = on_ended
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._last: TraySnapshot | None = None
        self._ended_total: int | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="sweatpants-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._client.close()

    def mark_seen(self) -> None:
        """The dashboard was opened: clear the failed look at the next tick (which is now)."""
        with self._lock:
            self.tracker.mark_seen()
            self._last = None
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("desktop: status poll failed")
            self._wake.wait(self._interval)
            self._wake.clear()

    def _tick(self) -> None:
        try:
            response = self._client.get("/status")
            response.raise_for_status()
            status: Any = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("desktop: /status did not answer: %s", exc)
            self._publish(TraySnapshot(reachable=False))
            return
        if not isinstance(status, dict):
            return
        with self._lock:
            snapshot = self.tracker.snapshot(status)
        self._publish(snapshot)
        ended_total = _ended_total(status)
        if ended_total != self._ended_total and self._check_ended():
            self._ended_total = ended_total

    def _publish(self, snapshot: TraySnapshot) -> None:
        with self._lock:
            if snapshot == self._last:
                return
            self._last = snapshot
        self._on_snapshot(snapshot)

    def _check_ended(self) -> bool:
        try:
            response = self._client.get("/jobs", params={"limit": 50})
            response.raise_for_status()
            jobs = response.json().get("jobs", [])
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            log.debug("desktop: /jobs did not answer: %s", exc)
            return False
        for job in self.tracker.ended_jobs([j for j in jobs if isinstance(j, dict)]):
            self._on_ended(job)
        return True
