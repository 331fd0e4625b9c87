"""The loop that fires schedules on time and notices when time did not pass as it should.

Due times are wall-clock instants, so a slot means the same across a restart and after the
machine slept. The loop sleeps until the soonest slot, but never more than `TICK_SECONDS`.
Whatever kept it from looking in time (the daemon was down, the machine asleep, the process
frozen, the clock set ahead), a slot found late by more than its grace was missed, and
`decide` applies the misfire policy: one `catch_up` run, or none; the next slot is the first
after now, never a burst.

On every wake the loop also compares how far the wall clock moved with how far the
monotonic clock did. They part when the machine was suspended (the monotonic clock stops)
or someone set the clock. Forward, it says so in the log (the lateness rule above does the
rest). Backward, an `every` schedule would wait out the time the clock went back, so its
next slot is brought back to the first after now; a cron schedule keeps its next time (the
repeated hour does not fire it twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from sweatpants.jobs.models import iso
from sweatpants.schedules.service import Schedules

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0  # the longest sleep: how soon a clock jump is noticed
JUMP_SECONDS = 2.0  # wall vs monotonic difference over one tick that counts as a jump
MIN_SLEEP_SECONDS = 0.005


class ScheduleLoop:
    """Runs `Schedules.fire_due` at each slot, from `start()` until `stop()`."""

    def __init__(self, schedules: Schedules) -> None:
        self._schedules = schedules
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.jumps = 0  # clock jumps and suspends seen (for tests and the log)
        self.next_up: dict[str, object] | None = None  # the soonest fire, for /status
        self._due_at: float | None = None  # the soonest slot (wall clock), as last read
        self._queued = False  # a run waits for its previous one: look every tick
        schedules.changed = self._wake.set

    async def start(self) -> None:
        """Look once now (what a restart missed fires at once), then keep looking."""
        await self._look(time.time())
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        """Wake at the soonest slot, when a schedule changed, or every TICK_SECONDS to watch
        the clocks; the store is read only when something may be due (or a run is queued),
        so a daemon whose schedules are all hours away does no I/O between their fires."""
        wall, mono = time.time(), time.monotonic()
        while not self._stopping:
            changed = self._wake.is_set()
            self._wake.clear()
            now, now_mono = time.time(), time.monotonic()
            jumped = await self._notice_jump((now - wall) - (now_mono - mono), now)
            wall, mono = now, now_mono
            due = self._due_at is not None and now >= self._due_at
            if changed or due or jumped or self._queued:
                await self._look(now)
            wait = TICK_SECONDS
            if self._due_at is not None:
                wait = min(TICK_SECONDS, max(MIN_SLEEP_SECONDS, self._due_at - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _look(self, now: float) -> None:
        """Fire what is due, then learn the soonest slot and whether a run is queued."""
        try:
            await self._schedules.fire_due(now)
            soonest, self._queued = await self._schedules.outlook()
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug or a full disk must not end the loop for good
            log.exception("schedules: a look at what is due failed; trying again")
            self._due_at, self._queued = time.time() + TICK_SECONDS, False
            return
        self._due_at = soonest.next_run_at if soonest is not None else None
        self.next_up = None
        if soonest is not None and soonest.next_run_at is not None:
            self.next_up = {
                "schedule_id": soonest.id,
                "name": soonest.name,
                "module_id": soonest.module_id,
                "at": iso(soonest.next_run_at),
            }

    def status(self) -> dict[str, object]:
        """`/status`'s `schedules` section: the next fire (None when nothing is planned)."""
        return {"next": self.next_up}

    async def _notice_jump(self, drift: float, now: float) -> bool:
        """`drift`: how much further the wall clock moved than the monotonic one; True when
        the clocks parted (a suspend or a clock set)."""
        if abs(drift) < JUMP_SECONDS:
            return False
        self.jumps += 1
        if drift > 0:
            log.info(
                "schedules: %.0fs passed that this process did not see (the machine slept or "
                "the clock was set forward); missed slots follow each schedule's misfire policy",
                drift,
            )
            return True
        try:
            moved = await self._schedules.replan_every(now)
        except Exception:
            log.exception("schedules: planning again after the clock went back failed")
            return True
        log.info(
            "schedules: the clock went back %.0fs; %d `every` schedule(s) planned again",
            -drift,
            moved,
        )
        return True
