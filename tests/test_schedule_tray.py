"""The tray's part in schedules: the next scheduled run in the menu (from `/status`), and the
notification when a scheduled run failed after its last retry. Pure functions, in-process."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sweatpants.desktop.notify import job_message
from sweatpants.desktop.watch import StatusTracker, next_run_line


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_the_next_run_line() -> None:
    now = datetime.now().astimezone().replace(hour=5, minute=0, second=0, microsecond=0)
    soon = now.replace(hour=6)
    upcoming = {"schedule_id": "s", "name": "report", "module_id": "mod", "at": iso(soon)}
    assert next_run_line({"next": upcoming}, now) == "Next run: report at 06:00"
    later = now + timedelta(days=2)
    line = next_run_line({"next": {**upcoming, "name": None, "at": iso(later)}}, now)
    assert line == f"Next run: mod at {later.strftime('%a %d %b %H:%M')}"
    assert next_run_line({"next": None}) == ""
    assert next_run_line(None) == ""
    assert next_run_line({"next": {"at": "not a time"}}) == ""


def test_the_snapshot_carries_the_next_run() -> None:
    tracker = StatusTracker()
    at = datetime.now().astimezone() + timedelta(minutes=5)
    status = {"counts": {}, "schedules": {"next": {"name": "tick", "at": iso(at)}}}
    snapshot = tracker.snapshot(status)
    assert snapshot.next_run.startswith("Next run: tick at ")
    assert tracker.snapshot({"counts": {}}).next_run == ""  # an older daemon: no line


def test_a_scheduled_run_that_failed_after_its_retries() -> None:
    job = {
        "id": "0123456789",
        "module_id": "report",
        "status": "failed",
        "error": "RuntimeError: upstream down\nmore",
        "schedule_id": "s1",
        "attempt": 4,
    }
    assert job_message(job) == (
        "Scheduled run of report failed",
        "Job 01234567 after 4 attempts: RuntimeError: upstream down",
    )
    single = job_message({**job, "attempt": 1})
    assert single[1] == "Job 01234567 (no retries): RuntimeError: upstream down"
    manual = job_message({**job, "schedule_id": None})
    assert manual == ("report failed", "Job 01234567: RuntimeError: upstream down")


MENU_SCRIPT = """
from sweatpants.desktop.tray import Tray, TrayActions
from sweatpants.desktop.watch import TraySnapshot

nothing = lambda: None
tray = Tray(TrayActions(nothing, nothing, lambda: False, nothing, nothing), owns_engine=True)
print([item.text for item in tray.icon.menu.items if item.visible])
tray._snapshot = TraySnapshot(next_run="Next run: report at 06:00")
print([item.text for item in tray.icon.menu.items if item.visible])
"""


def test_the_menu_shows_the_next_run_only_when_there_is_one() -> None:
    """The real menu, built by pystray's dummy backend in a process of its own (the backend
    is chosen when pystray is first imported)."""
    env = {**os.environ, "PYSTRAY_BACKEND": "dummy"}
    done = subprocess.run(
        [sys.executable, "-c", MENU_SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    without, with_next = (ast.literal_eval(line) for line in done.stdout.splitlines())
    assert "Next run: report at 06:00" not in without
    assert with_next.index("Next run: report at 06:00") == with_next.index("Idle (0 running)") + 1
