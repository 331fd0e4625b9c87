"""When schedules fire, and what a due slot does: cron in a zone across the DST days, `every`
slots, the misfire and overlap decisions, and the 422s of bad timing values. In-process."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sweatpants.errors import InvalidInput
from sweatpants.events import EventBus
from sweatpants.jobs.models import JobTrigger
from sweatpants.schedules.model import Misfire, Overlap, Schedule
from sweatpants.schedules.service import Schedules, decide
from sweatpants.schedules.timing import (
    Timing,
    check_cron,
    check_every,
    check_zone,
    local_zone_name,
    parse_instant,
)
from sweatpants.store import Store
from sweatpants.store import schedules as schedule_sql

BERLIN = ZoneInfo("Europe/Berlin")


def local(t: float) -> datetime:
    return datetime.fromtimestamp(t, BERLIN)


def test_dst_daily_0230_in_berlin_fires_once_a_day() -> None:
    """30 2 * * * from 2027-03-27 to 2027-11-01: one fire per day; 03:00 on the spring-forward
    day (02:30 does not exist), and only the first 02:30 on the fall-back day."""
    timing = Timing("30 2 * * *", None, 0.0, BERLIN)
    start = datetime(2027, 3, 27, tzinfo=BERLIN).timestamp()
    end = datetime(2027, 11, 1, tzinfo=BERLIN).timestamp()
    times = [t for t in timing.upcoming(300, start) if t < end]
    days = [local(t).date() for t in times]
    assert len(days) == len(set(days)) == (date(2027, 11, 1) - date(2027, 3, 27)).days
    spring = [local(t) for t in times if local(t).date() == date(2027, 3, 28)]
    assert [d.strftime("%H:%M %z") for d in spring] == ["03:00 +0200"]
    autumn = [local(t) for t in times if local(t).date() == date(2027, 10, 31)]
    assert [d.strftime("%H:%M %z") for d in autumn] == ["02:30 +0200"]
    assert all(local(t).strftime("%H:%M") == "02:30" for t in times if local(t).day != 28)


def test_the_repeated_hour_never_fires_a_daily_schedule_twice() -> None:
    """Asked from inside the repeated hour (after the first 02:30), the next fire is the next
    day's: cronsim's second 02:30 of the day lies before the start and is passed over."""
    timing = Timing("30 2 * * *", None, 0.0, BERLIN)
    first = datetime(2027, 10, 31, 2, 30, tzinfo=BERLIN).timestamp()  # fold=0: +02:00
    for after in (first, first + 1800, first + 3600, first + 3601):
        assert local(timing.next_after(after)).date() == date(2027, 11, 1)


def test_every_counts_whole_intervals_from_its_anchor() -> None:
    timing = Timing(None, 60.0, 1000.0, ZoneInfo("UTC"))
    assert timing.next_after(10.0) == 1000.0
    assert timing.next_after(1000.0) == 1060.0
    assert timing.next_after(1059.9) == 1060.0
    assert timing.upcoming(3, 1061.0) == [1120.0, 1180.0, 1240.0]


@pytest.mark.parametrize(
    ("check", "value", "field"),
    [
        (check_cron, "61 * * * *", "cron"),
        (check_cron, "* * * *", "cron"),
        (check_cron, "0 6 * * * *", "cron"),
        (check_every, "0s", "every"),
        (check_every, "0.5s", "every"),
        (check_every, "soon", "every"),
        (check_zone, "Mars/Olympus", "timezone"),
        (check_zone, "", "timezone"),
    ],
)
def test_bad_timing_values_name_their_field(check: object, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check(value)  # type: ignore[operator]
    assert caught.value.field == field and caught.value.status == 422


def test_good_timing_values() -> None:
    assert check_cron(" 0  6 * * 1-5 ") == "0 6 * * 1-5"
    assert check_every("15m") == 900.0
    assert check_zone("America/New_York").key == "America/New_York"
    assert check_zone(local_zone_name()) is not None


def test_instants_with_and_without_an_offset() -> None:
    assert parse_instant("2027-01-01T00:00:00Z", "from", None) == 1798761600.0
    assert parse_instant("2027-01-01", "from", BERLIN) == 1798761600.0 - 3600
    with pytest.raises(InvalidInput) as caught:
        parse_instant("tomorrow", "start_at", None)
    assert caught.value.field == "start_at"


def schedule(**changes: object) -> Schedule:
    base: dict[str, object] = {
        "id": "s1",
        "name": None,
        "module_id": "m",
        "inputs": {},
        "settings": {},
        "max_duration": None,
        "cron": None,
        "every": "10s",
        "timezone": "UTC",
        "start_at": None,
        "overlap": Overlap.SKIP,
        "misfire": Misfire.COALESCE,
        "misfire_grace": "5s",
        "retries": 0,
        "retry_delay": "30s",
        "enabled": True,
        "created_at": 1000.0,
        "updated_at": 1000.0,
        "next_run_at": 1100.0,
        "last_run_at": None,
        "last_job_id": None,
        "queued_at": None,
        "skipped": 0,
        "last_skipped_at": None,
        "last_status": None,
    }
    base.update(changes)
    return Schedule(**base)  # type: ignore[arg-type]


def test_a_slot_within_the_grace_fires_as_usual_and_plans_the_next() -> None:
    decision = decide(schedule(), 1104.0, previous_active=False)
    assert decision.action == "fire" and decision.trigger is JobTrigger.SCHEDULE
    assert decision.next_run_at == 1110.0


def test_missed_slots_coalesce_into_one_catch_up_and_never_a_burst() -> None:
    """Asleep from 1100 to 1500 (40 slots): one catch_up run, then the first slot after now."""
    decision = decide(schedule(), 1503.0, previous_active=False)
    assert decision.action == "fire" and decision.trigger is JobTrigger.CATCH_UP
    assert decision.next_run_at == 1510.0
    after = decide(schedule(next_run_at=1510.0), 1510.2, previous_active=False)
    assert after.trigger is JobTrigger.SCHEDULE and after.next_run_at == 1520.0


def test_misfire_skip_starts_nothing_and_resumes_at_the_next_future_slot() -> None:
    decision = decide(schedule(misfire=Misfire.SKIP), 1503.0, previous_active=False)
    assert decision.action == "missed" and decision.trigger is None
    assert decision.next_run_at == 1510.0


def test_overlap_policies_while_the_previous_run_goes_on() -> None:
    skip = decide(schedule(), 1100.5, previous_active=True)
    assert skip.action == "skip" and skip.next_run_at == 1110.0
    queue = decide(schedule(overlap=Overlap.QUEUE), 1100.5, previous_active=True)
    assert queue.action == "queue" and queue.queued_at == 1100.0
    again = decide(schedule(overlap=Overlap.QUEUE, queued_at=1100.0), 1110.5, True)
    assert again.action == "queue" and again.queued_at == 1100.0  # still one waiting
    allow = decide(schedule(overlap=Overlap.ALLOW), 1100.5, previous_active=True)
    assert allow.action == "fire"


def test_a_catch_up_waits_for_a_previous_run_instead_of_being_skipped() -> None:
    """Frozen while a run went on: the catch-up waits for it (overlap skip or not), then
    starts as `catch_up`."""
    waiting = decide(schedule(), 1503.0, previous_active=True)
    assert waiting.action == "queue" and waiting.queued_at == 1100.0
    assert waiting.next_run_at == 1510.0
    queued = schedule(queued_at=1100.0, next_run_at=1510.0)
    started = decide(queued, 1504.0, previous_active=False)
    assert started.action == "fire" and started.trigger is JobTrigger.CATCH_UP


def test_a_queued_run_starts_when_the_previous_ends() -> None:
    waiting = schedule(overlap=Overlap.QUEUE, queued_at=1100.0, next_run_at=1110.0)
    assert decide(waiting, 1105.0, previous_active=True).action == "wait"
    started = decide(waiting, 1106.0, previous_active=False)
    assert started.action == "fire" and started.next_run_at is None  # the plan stays


def test_schedule_to_api_shows_times_in_utc_and_the_zone() -> None:
    shown = schedule(timezone="Europe/Berlin").to_api()
    assert shown["timezone"] == "Europe/Berlin"
    assert shown["next_run_at"] == datetime.fromtimestamp(1100.0, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert schedule(enabled=False).to_api()["next_run_at"] is None


def test_a_clock_set_back_brings_every_schedules_back_and_leaves_cron_alone(
    tmp_path: Path,
) -> None:
    """After the wall clock went back an hour, an `every: 10s` schedule whose next slot is now
    an hour away is planned at its first slot after the new time; a cron schedule keeps its
    next time (a real SQLite file; no daemon)."""
    store = Store(tmp_path / "s.db")
    store.open()
    row = {
        "module_id": "m",
        "inputs": "{}",
        "settings": "{}",
        "created_at": 1000.0,
        "updated_at": 1000.0,
        "timezone": "UTC",
    }

    async def scenario() -> tuple[float | None, float | None]:
        await store.write(
            lambda c: schedule_sql.insert(
                c, {**row, "id": "every", "every": "10s", "next_run_at": 5010.0}
            )
        )
        await store.write(
            lambda c: schedule_sql.insert(
                c, {**row, "id": "cron", "cron": "0 6 * * *", "next_run_at": 90000.0}
            )
        )
        schedules = Schedules(store, None, None, EventBus(), None)  # type: ignore[arg-type]
        assert await schedules.replan_every(1405.0) == 1
        every = await schedules.get("every")
        cron = await schedules.get("cron")
        return every.next_run_at, cron.next_run_at

    try:
        every_next, cron_next = asyncio.run(scenario())
    finally:
        store.close()
    assert every_next == 1410.0  # 1000 + 41 * 10, the first slot after the new time
    assert cron_next == 90000.0
