"""`Schedule`: the one typed record of a schedule, built from the store, shown by `to_api`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sweatpants.jobs.models import iso, parse_duration
from sweatpants.schedules.timing import Timing, check_zone, local_zone_name
from sweatpants.secrets import mask

if TYPE_CHECKING:
    from sweatpants.store.schedules import ScheduleRecord


class Overlap(StrEnum):
    """What a slot does while the schedule's previous run is still pending or running."""

    SKIP = "skip"  # no run for this slot (counted in `skipped`)
    QUEUE = "queue"  # one run waits for the previous to end (at most one waits)
    ALLOW = "allow"  # runs side by side


class Misfire(StrEnum):
    """What happens to slots missed by more than `misfire_grace` (daemon down, machine
    asleep, process frozen, clock moved forward)."""

    COALESCE = "coalesce"  # one `catch_up` run for all of them
    SKIP = "skip"  # none: the schedule goes on at its next future slot


DEFAULT_GRACE = "60s"
DEFAULT_RETRY_DELAY = "30s"


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str
    name: str | None
    module_id: str
    inputs: dict[str, Any]  # secret values sealed
    settings: dict[str, Any]
    max_duration: str | None
    cron: str | None
    every: str | None
    timezone: str | None  # as given; None: the machine's
    start_at: float | None
    overlap: Overlap
    misfire: Misfire
    misfire_grace: str
    retries: int
    retry_delay: str
    enabled: bool
    created_at: float
    updated_at: float
    next_run_at: float | None
    last_run_at: float | None
    last_job_id: str | None
    queued_at: float | None
    skipped: int
    last_skipped_at: float | None
    last_status: str | None

    @classmethod
    def from_record(cls, r: ScheduleRecord) -> Schedule:
        return cls(
            id=r.id,
            name=r.name,
            module_id=r.module_id,
            inputs=json.loads(r.inputs),
            settings=json.loads(r.settings),
            max_duration=r.max_duration,
            cron=r.cron,
            every=r.every,
            timezone=r.timezone,
            start_at=r.start_at,
            overlap=Overlap(r.overlap),
            misfire=Misfire(r.misfire),
            misfire_grace=r.misfire_grace,
            retries=r.retries,
            retry_delay=r.retry_delay,
            enabled=bool(r.enabled),
            created_at=r.created_at,
            updated_at=r.updated_at,
            next_run_at=r.next_run_at,
            last_run_at=r.last_run_at,
            last_job_id=r.last_job_id,
            queued_at=r.queued_at,
            skipped=r.skipped,
            last_skipped_at=r.last_skipped_at,
            last_status=r.last_status,
        )

    @property
    def zone_name(self) -> str:
        return self.timezone or local_zone_name()

    @property
    def timing(self) -> Timing:
        interval = parse_duration(self.every, field="every") if self.every else None
        anchor = self.start_at if self.start_at is not None else self.created_at
        return Timing(self.cron, interval, anchor, check_zone(self.zone_name))

    @property
    def grace_seconds(self) -> float:
        return parse_duration(self.misfire_grace, field="misfire_grace")

    def to_api(self) -> dict[str, Any]:
        """The schedule as the API shows it (secret values as `********`)."""
        return {
            "id": self.id,
            "name": self.name,
            "module_id": self.module_id,
            "inputs": mask(self.inputs, frozenset()),
            "settings": mask(self.settings, frozenset()),
            "max_duration": self.max_duration,
            "cron": self.cron,
            "every": self.every,
            "timezone": self.zone_name,
            "start_at": iso(self.start_at),
            "overlap": self.overlap.value,
            "misfire": self.misfire.value,
            "misfire_grace": self.misfire_grace,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "enabled": self.enabled,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "next_run_at": iso(self.next_run_at) if self.enabled else None,
            "last_run_at": iso(self.last_run_at),
            "last_job_id": self.last_job_id,
            "last_status": self.last_status,
            "queued": self.queued_at is not None,
            "skipped": self.skipped,
            "last_skipped_at": iso(self.last_skipped_at),
        }
