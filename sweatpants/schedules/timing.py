"""When a schedule fires: a 5-field cron expression in an IANA time zone, or every N.

Fire times are wall-clock instants (epoch seconds). A cron expression is evaluated by
cronsim in the schedule's zone, which settles the DST days: a local time that does not exist
(02:30 on the spring-forward day in Europe/Berlin) fires at the first minute after the gap
(03:00); a local time that happens twice (02:30 on the fall-back day) fires once, at its
first occurrence. `every` counts whole intervals from an anchor (`start_at`, or when the
schedule was made), so its slots never drift and DST does not touch them.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from sweatpants.errors import InvalidInput
from sweatpants.jobs.models import parse_duration

MAX_STEPS = 8  # cron candidates looked at past one that is not after the start (DST folds)
MIN_EVERY_SECONDS = 1.0


def local_zone_name() -> str:
    """The machine's IANA zone: $TZ, then /etc/localtime's link, then /etc/timezone; UTC."""
    candidates: list[str] = []
    given = os.environ.get("TZ", "").lstrip(":")
    if given:
        candidates.append(given)
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    for name in candidates:
        if name and _zone(name) is not None:
            return name
    return "UTC"


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def check_zone(name: str) -> ZoneInfo:
    """The zone named `name`, or a 422 naming `timezone`."""
    zone = _zone(name) if name.strip() else None
    if zone is None:
        raise InvalidInput(
            f"timezone {name!r} is not a known IANA time zone; use a name like "
            "Europe/Berlin, America/New_York or UTC",
            field="timezone",
        )
    return zone


def check_cron(expression: str) -> str:
    """The expression, stripped, if it is a valid 5-field cron expression; else a 422."""
    cleaned = " ".join(expression.split())
    fields = cleaned.split(" ") if cleaned else []
    if len(fields) != 5:
        raise InvalidInput(
            f"cron {expression!r} has {len(fields)} fields; give 5: minute hour "
            "day-of-month month day-of-week, like '0 6 * * *'",
            field="cron",
        )
    try:
        CronSim(cleaned, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise InvalidInput(f"cron {expression!r} is not valid: {exc}", field="cron") from None
    return cleaned


def check_every(text: str) -> float:
    """`every` in seconds (at least 1s), or a 422 naming `every`."""
    seconds = parse_duration(text, field="every")
    if seconds < MIN_EVERY_SECONDS:
        raise InvalidInput(f"every {text!r} is shorter than 1s", field="every")
    return seconds


def parse_instant(text: str, field: str, zone: ZoneInfo | None) -> float:
    """An ISO 8601 date or time as epoch seconds; without an offset it is in `zone` (the
    machine's when None). A 422 naming `field` for anything else."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field} {text!r} is not an ISO 8601 time; use e.g. 2027-03-27T06:00:00+01:00 "
            "or 2027-03-27",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or check_zone(local_zone_name()))
    return parsed.timestamp()


@dataclass(frozen=True, slots=True)
class Timing:
    """A schedule's fire times: `cron` in `zone`, or every `interval` seconds from `anchor`."""

    cron: str | None
    interval: float | None
    anchor: float
    zone: ZoneInfo

    def next_after(self, t: float) -> float:
        """The first fire time strictly after `t`."""
        if self.interval is not None:
            if t < self.anchor:
                return self.anchor
            slots = int((t - self.anchor) // self.interval) + 1
            return self.anchor + slots * self.interval
        assert self.cron is not None
        start = datetime.fromtimestamp(t, self.zone)
        times = CronSim(self.cron, start)
        # cronsim can hand back the second copy of a repeated hour's minute as a time that is
        # not after `start` (it counts in local time): skip such candidates.
        for _ in range(MAX_STEPS):
            candidate = next(times).timestamp()
            if candidate > t:
                return candidate
        raise RuntimeError(f"cron {self.cron!r}: no fire time after {t}")  # pragma: no cover

    def upcoming(self, count: int, after: float) -> list[float]:
        """The next `count` fire times after `after`."""
        times: list[float] = []
        t = after
        for _ in range(count):
            t = self.next_after(t)
            times.append(t)
        return times
