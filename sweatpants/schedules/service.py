"""Schedules over the store and the job manager: create, change, pause, fire.

What a schedule runs is validated like a job (`POST /jobs`) when it is created or changed, so
a bad input is a 422 then and not a failed run at 3 am; its inputs and settings are stored
with secret values sealed, and each fire submits them as a new job, validated again (the
module may have changed since).

`fire_due` is what the loop (`loop.py`) calls: for each schedule whose slot has come it
decides (`decide`, a pure function) whether to start a run, skip it, queue it, or catch up,
and persists the next slot in the same breath, so that a daemon that goes down knows on its
next start which slots it missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sweatpants.errors import Ambiguous, InvalidInput, NotFound, SweatpantsError
from sweatpants.events import EventBus
from sweatpants.jobs.manager import JobManager
from sweatpants.jobs.models import Job, JobTrigger, iso, parse_duration
from sweatpants.jobs.retries import check_retries
from sweatpants.modules.manifest import SECRET_MASK, Manifest
from sweatpants.schedules.model import (
    DEFAULT_GRACE,
    DEFAULT_RETRY_DELAY,
    Misfire,
    Overlap,
    Schedule,
)
from sweatpants.schedules.timing import check_cron, check_every, check_zone
from sweatpants.secrets import SecretBox, is_sealed
from sweatpants.store import Store
from sweatpants.store import schedules as schedule_sql

MIN_PREFIX = 8  # the shortest id prefix that may name a schedule (as for jobs)
log = logging.getLogger(__name__)

MAX_PREVIEW = 1000
FIRE_BATCH = 200  # due schedules fired side by side at most
TIMING_KEYS = frozenset({"cron", "every", "timezone", "start_at"})


class ModuleLookup(Protocol):
    def get(self, module_id: str) -> Any: ...


class SettingsSource(Protocol):
    async def merged(self, manifest: Any, own: dict[str, Any] | None) -> Any: ...


@dataclass(frozen=True, slots=True)
class Decision:
    """What one look at a due schedule decided."""

    action: str  # "fire", "skip" (overlap), "queue", "wait" (a queued run waits), "missed"
    trigger: JobTrigger | None
    next_run_at: float | None  # None: keep the stored one
    queued_at: float | None = None


def decide(schedule: Schedule, now: float, previous_active: bool) -> Decision:
    """The misfire and overlap policies for one schedule that `due` returned.

    A slot late by no more than `misfire_grace` fires as usual (a restart or a busy moment
    misses nothing); later than that it was missed (daemon down, machine asleep, process
    frozen, clock moved forward): `coalesce` starts one `catch_up` run for all of them, `skip`
    none. Either way the next slot is the first one after now, so no burst can follow.

    While the previous run is still going, `skip` drops the slot, `queue` keeps one run
    waiting for it to end, `allow` starts one beside it. A catch-up run is never dropped:
    it waits like a queued run (the previous run may be one the freeze or the restart held
    up), and a queued run that starts more than the grace after its slot is a catch-up."""
    grace = schedule.grace_seconds
    coalesce = schedule.misfire is Misfire.COALESCE
    slot = schedule.next_run_at
    if slot is None or slot > now:  # only a queued run is waiting
        if previous_active:
            return Decision("wait", None, None, schedule.queued_at)
        late = schedule.queued_at is not None and now - schedule.queued_at > grace
        trigger = JobTrigger.CATCH_UP if late and coalesce else JobTrigger.SCHEDULE
        return Decision("fire", trigger, None)
    following = schedule.timing.next_after(now)
    late = now - slot > grace
    if late and not coalesce:
        return Decision("missed", None, following, schedule.queued_at)
    trigger = JobTrigger.CATCH_UP if late else JobTrigger.SCHEDULE
    if previous_active and schedule.overlap is not Overlap.ALLOW:
        if schedule.overlap is Overlap.QUEUE or late:
            return Decision("queue", None, following, schedule.queued_at or slot)
        return Decision("skip", None, following, schedule.queued_at)
    return Decision("fire", trigger, following)


class Schedules:
    """The daemon's schedules (one per engine)."""

    def __init__(
        self,
        store: Store,
        modules: ModuleLookup,
        jobs: JobManager,
        events: EventBus,
        box: SecretBox,
        stored_settings: SettingsSource | None = None,
    ) -> None:
        self._store = store
        self._modules = modules
        self._jobs = jobs
        self._events = events
        self._box = box
        self._stored_settings = stored_settings
        self.changed: Callable[[], None] = lambda: None  # the loop sets it to wake itself

    # ---- reads -----------------------------------------------------------------------------

    async def listed(self) -> list[Schedule]:
        records = await self._store.read(schedule_sql.listed)
        return [Schedule.from_record(record) for record in records]

    async def get(self, schedule_id: str) -> Schedule:
        """The schedule with this id, or with the one id this prefix (8+ characters) starts,
        as for jobs; 404 for none, 409 listing them for several."""
        record = await self._store.read(lambda c: schedule_sql.get(c, schedule_id))
        if record is None and len(schedule_id) >= MIN_PREFIX:
            matches = await self._store.read(lambda c: schedule_sql.ids_with_prefix(c, schedule_id))
            if len(matches) > 1:
                raise Ambiguous(
                    f"schedule id prefix {schedule_id!r} matches {len(matches)} schedules: "
                    f"{', '.join(matches)}",
                    matches=matches,
                )
            if matches:
                record = await self._store.read(lambda c: schedule_sql.get(c, matches[0]))
        if record is None:
            raise NotFound(f"no schedule with id {schedule_id!r}")
        return Schedule.from_record(record)

    async def preview(self, schedule_id: str, count: int, after: float | None) -> list[float]:
        """The next `count` fire times after `after` (default: now)."""
        if not 1 <= count <= MAX_PREVIEW:
            raise InvalidInput(f"count must be between 1 and {MAX_PREVIEW}", field="count")
        schedule = await self.get(schedule_id)
        return schedule.timing.upcoming(count, time.time() if after is None else after)

    async def outlook(self) -> tuple[Schedule | None, bool]:
        """The enabled schedule that fires next (for the loop's sleep, `/status` and the
        tray), and whether a queued run waits for a previous one to end (one read)."""

        def read(conn: Any) -> tuple[schedule_sql.ScheduleRecord | None, bool]:
            return schedule_sql.soonest(conn), schedule_sql.any_queued(conn)

        record, queued = await self._store.read(read)
        return (Schedule.from_record(record) if record is not None else None), queued

    # ---- changes ---------------------------------------------------------------------------

    async def create(self, body: Mapping[str, Any]) -> Schedule:
        """Validate and store a new schedule; 422 naming the field for anything wrong."""
        now = time.time()
        row = await self._validated(dict(body), None)
        row.update(id=str(uuid.uuid4()), created_at=now, updated_at=now)
        draft = Schedule.from_record(_as_record(row))
        row["next_run_at"] = draft.timing.next_after(now)
        record = await self._store.write(lambda c: schedule_sql.insert(c, row))
        return self._published(Schedule.from_record(record))

    async def update(self, schedule_id: str, body: Mapping[str, Any]) -> Schedule:
        """Change the given fields (validated together with the rest; `inputs` and `settings`
        key by key, null removing a key); a change of when it fires, or of `enabled`, plans
        the next slot from now."""
        current = await self.get(schedule_id)
        merged = {**_body_of(current), **body}
        for group in ("inputs", "settings"):  # key by key; the mask keeps a stored secret
            if group in body and isinstance(body[group], Mapping):
                stored = getattr(current, group)
                merged[group] = {**stored}
                for key, value in body[group].items():
                    if value == SECRET_MASK and key in stored:
                        continue
                    if value is None:
                        merged[group].pop(key, None)
                    else:
                        merged[group][key] = value
        if "cron" in body and body["cron"] is not None and "every" not in body:
            merged["every"] = None
        if "every" in body and body["every"] is not None and "cron" not in body:
            merged["cron"] = None
        row = await self._validated(merged, current)
        now = time.time()
        changes = {key: row[key] for key in schedule_sql.CHANGEABLE if key in row}
        changes["updated_at"] = now
        if TIMING_KEYS & set(body) or "enabled" in body:
            draft = Schedule.from_record(
                _as_record({**_row_of(current), **row, "created_at": current.created_at})
            )
            changes["next_run_at"] = draft.timing.next_after(now)
        record = await self._store.write(lambda c: schedule_sql.update(c, current.id, changes))
        if record is None:
            raise NotFound(f"no schedule with id {schedule_id!r}")
        return self._published(Schedule.from_record(record))

    async def set_enabled(self, schedule_id: str, enabled: bool) -> Schedule:
        """Pause (no run until resumed; a queued run is dropped) or resume (from the next
        slot after now: the slots it was paused through are not caught up)."""
        current = await self.get(schedule_id)
        changes: dict[str, Any] = {"enabled": int(enabled), "updated_at": time.time()}
        if enabled and not current.enabled:
            changes["next_run_at"] = current.timing.next_after(time.time())
        if not enabled:
            changes["queued_at"] = None
        record = await self._store.write(lambda c: schedule_sql.update(c, current.id, changes))
        if record is None:
            raise NotFound(f"no schedule with id {schedule_id!r}")
        return self._published(Schedule.from_record(record))

    async def delete(self, schedule_id: str) -> str:
        """Remove the schedule; the jobs it started stay (naming it in `schedule_id`).
        Returns its full id (`schedule_id` may be a prefix)."""
        full_id = (await self.get(schedule_id)).id
        if not await self._store.write(lambda c: schedule_sql.delete(c, full_id)):
            raise NotFound(f"no schedule with id {schedule_id!r}")
        self._events.publish({"type": "schedule_deleted", "id": full_id})
        self.changed()
        return full_id

    async def run_now(self, schedule_id: str) -> Job:
        """Start a run now (trigger `manual`), whatever the overlap policy; the plan of
        slots does not move."""
        schedule = await self.get(schedule_id)
        job = await self._submit(schedule, JobTrigger.MANUAL)
        await self._store.write(
            lambda c: schedule_sql.record_fire(
                c, schedule.id, job_id=job.id, fired_at=time.time(), next_run_at=None
            )
        )
        self._published(await self.get(schedule.id))
        return job

    # ---- firing ----------------------------------------------------------------------------

    async def fire_due(self, now: float) -> int:
        """Start what is due at `now`; returns how many runs were started.

        The due schedules are fired side by side, so that their writes (each new job, each
        schedule's next slot) share the writer's transactions: one by one, a second's worth
        of 1,000 schedules waited for a commit each, twice, and fell behind on a busy disk."""
        records = await self._store.read(lambda c: schedule_sql.due(c, now))
        started = 0
        for first in range(0, len(records), FIRE_BATCH):
            batch = [Schedule.from_record(r) for r in records[first : first + FIRE_BATCH]]
            # The clock read now, not the loop's: a process frozen (or a machine suspended)
            # between the two would judge a long-missed slot on time and fire twice.
            now = max(now, time.time())
            counts = await asyncio.gather(*(self._fire_guarded(s, now) for s in batch))
            started += sum(counts)
        return started

    async def _fire_guarded(self, schedule: Schedule, now: float) -> int:
        try:
            return await self._fire_one(schedule, now)
        except Exception:  # one bad schedule must not stop the others
            log.exception("schedule %s: could not be fired", schedule.id)
            await self._plan(schedule.id, schedule.timing.next_after(now), None)
            return 0

    async def _fire_one(self, schedule: Schedule, now: float) -> int:
        previous = schedule.last_job_id
        decision = decide(schedule, now, previous is not None and self._jobs.is_active(previous))
        if decision.action == "wait":
            return 0
        if decision.action == "fire":
            assert decision.trigger is not None
            try:
                job = await self._submit(schedule, decision.trigger)
            except SweatpantsError as exc:  # module gone, disk low, daemon stopping: plan on
                log.warning("schedule %s: no run at %s: %s", schedule.id, iso(now), exc.detail)
                await self._store.write(
                    lambda c: schedule_sql.plan(
                        c, schedule.id, next_run_at=decision.next_run_at, queued_at=None
                    )
                )
                return 0
            await self._store.write(
                lambda c: schedule_sql.record_fire(
                    c,
                    schedule.id,
                    job_id=job.id,
                    fired_at=now,
                    next_run_at=decision.next_run_at,
                )
            )
            self._planned(schedule.id)
            return 1
        if decision.action == "skip":
            log.info("schedule %s: its previous run is still going; slot skipped", schedule.id)
            await self._store.write(
                lambda c: schedule_sql.record_skip(
                    c, schedule.id, now=now, next_run_at=decision.next_run_at
                )
            )
        else:  # queue, missed
            if decision.action == "missed":
                log.info(
                    "schedule %s: slot %s missed (misfire: skip); next at %s",
                    schedule.id,
                    iso(schedule.next_run_at),
                    iso(decision.next_run_at),
                )
            await self._store.write(
                lambda c: schedule_sql.plan(
                    c, schedule.id, next_run_at=decision.next_run_at, queued_at=decision.queued_at
                )
            )
        self._planned(schedule.id)
        return 0

    async def replan_every(self, now: float) -> int:
        """After the wall clock went back: an `every` schedule whose next slot is now more
        than one interval away is brought back to its first slot after now (a cron schedule
        keeps its next time, so a repeated hour does not fire it twice)."""
        moved = 0
        for schedule in await self.listed():
            if not (schedule.enabled and schedule.every and schedule.next_run_at is not None):
                continue
            timing = schedule.timing
            assert timing.interval is not None
            if schedule.next_run_at - now > timing.interval:
                await self._plan(schedule.id, timing.next_after(now), schedule.queued_at)
                moved += 1
        return moved

    async def _plan(self, schedule_id: str, following: float, queued_at: float | None) -> None:
        await self._store.write(
            lambda c: schedule_sql.plan(c, schedule_id, next_run_at=following, queued_at=queued_at)
        )

    async def _submit(self, schedule: Schedule, trigger: JobTrigger) -> Job:
        manifest: Manifest = self._modules.get(schedule.module_id).manifest
        return await self._jobs.submit(
            schedule.module_id,
            _as_given(manifest, schedule.inputs, "inputs"),
            _as_given(manifest, schedule.settings, "settings"),
            schedule.max_duration,
            retries=schedule.retries,
            retry_delay=schedule.retry_delay,
            schedule_id=schedule.id,
            trigger=trigger,
        )

    # ---- validation ------------------------------------------------------------------------

    async def _validated(self, body: dict[str, Any], current: Schedule | None) -> dict[str, Any]:
        """The columns of a schedule from a request's fields; 422 naming the first bad one."""
        module_id = body.get("module_id")
        if not isinstance(module_id, str) or not module_id:
            raise InvalidInput("module_id is required", field="module_id")
        try:
            manifest: Manifest = self._modules.get(module_id).manifest
        except NotFound:
            raise InvalidInput(
                f"module {module_id!r} is not installed; install it first (GET /modules "
                "lists what is)",
                field="module_id",
            ) from None
        cron, every = body.get("cron"), body.get("every")
        if (cron is None) == (every is None):
            raise InvalidInput(
                "give either cron (like '0 6 * * *') or every (like 15m), not both or neither",
                field="cron",
            )
        if cron is not None:
            cron = check_cron(cron)
        if every is not None:
            check_every(every)
        timezone = body.get("timezone") or None
        if timezone is not None:
            check_zone(timezone)
        grace = body.get("misfire_grace") or DEFAULT_GRACE
        if parse_duration(grace, field="misfire_grace") < 0:  # pragma: no cover (never)
            raise InvalidInput("misfire_grace must be positive", field="misfire_grace")
        retries = int(body.get("retries") or 0)
        retry_delay = body.get("retry_delay") or DEFAULT_RETRY_DELAY
        check_retries(retries, retry_delay)
        max_duration = body.get("max_duration") or None
        if max_duration is not None:
            parse_duration(max_duration)
        overlap = _choice(Overlap, body.get("overlap") or Overlap.SKIP.value, "overlap")
        misfire = _choice(Misfire, body.get("misfire") or Misfire.COALESCE.value, "misfire")
        inputs, own_settings = body.get("inputs") or {}, body.get("settings") or {}
        # Checked as a job would be, with the module's stored settings under the schedule's.
        merged = own_settings
        if self._stored_settings is not None:
            merged = await self._stored_settings.merged(manifest, own_settings)
        clean_inputs, _ = self._box.for_new_job(manifest, inputs, merged)
        sealed_settings = self._box.seal(
            self._box.unseal(own_settings, section="settings"), manifest.secret_setting_ids()
        )
        name = body.get("name")
        return {
            "name": name.strip() if isinstance(name, str) and name.strip() else None,
            "module_id": manifest.id,
            "inputs": json.dumps(clean_inputs),
            "settings": json.dumps(sealed_settings),
            "max_duration": max_duration,
            "cron": cron,
            "every": every.strip() if isinstance(every, str) else None,
            "timezone": timezone,
            "start_at": body.get("start_at"),
            "overlap": overlap,
            "misfire": misfire,
            "misfire_grace": grace,
            "retries": retries,
            "retry_delay": retry_delay,
            "enabled": int(bool(body.get("enabled", True))),
        }

    def _published(self, schedule: Schedule) -> Schedule:
        """Tell `WS /events` and the loop that a schedule changed; returns it."""
        self._events.publish({"type": "schedule", "schedule": schedule.to_api()})
        self.changed()
        return schedule

    def _planned(self, schedule_id: str) -> None:
        """Tell `WS /events` that a schedule fired or moved its next slot (no read here:
        a client that shows it asks for it)."""
        self._events.publish({"type": "schedule_planned", "id": schedule_id})


def _choice(kind: type[Overlap] | type[Misfire], value: Any, field: str) -> str:
    allowed = [member.value for member in kind]
    if value not in allowed:
        raise InvalidInput(f"{field} must be one of {', '.join(allowed)}", field=field)
    return str(value)


def _as_given(manifest: Manifest, values: dict[str, Any], group: str) -> dict[str, Any]:
    """Stored values in a form the submit's coercion turns back into themselves: a `json`
    field whose value is a plain string was given as JSON text, so it goes back as such."""
    fields = manifest.inputs if group == "inputs" else manifest.settings
    kinds = {f.id: f.kind for f in fields}
    return {
        key: json.dumps(value)
        if kinds.get(key) == "json" and isinstance(value, str) and not is_sealed(value)
        else value
        for key, value in values.items()
    }


def _body_of(schedule: Schedule) -> dict[str, Any]:
    """A schedule as a request body (values as stored), for a PATCH to change."""
    return {
        "name": schedule.name,
        "module_id": schedule.module_id,
        "inputs": schedule.inputs,
        "settings": schedule.settings,
        "max_duration": schedule.max_duration,
        "cron": schedule.cron,
        "every": schedule.every,
        "timezone": schedule.timezone,
        "start_at": schedule.start_at,
        "overlap": schedule.overlap.value,
        "misfire": schedule.misfire.value,
        "misfire_grace": schedule.misfire_grace,
        "retries": schedule.retries,
        "retry_delay": schedule.retry_delay,
        "enabled": schedule.enabled,
    }


def _row_of(schedule: Schedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        "created_at": schedule.created_at,
        "updated_at": schedule.updated_at,
    }


def _as_record(row: Mapping[str, Any]) -> schedule_sql.ScheduleRecord:
    """A record of a row not stored yet (to compute its first slot)."""
    defaults: dict[str, Any] = {
        "next_run_at": None,
        "last_run_at": None,
        "last_job_id": None,
        "queued_at": None,
        "skipped": 0,
        "last_skipped_at": None,
        "last_status": None,
    }
    values = {**defaults, **row}
    return schedule_sql.ScheduleRecord(
        **{name: values[name] for name in schedule_sql.ScheduleRecord._fields}
    )
