"""Retries of failed attempts: what a request may ask for, and how long each wait is.

A job that fails (its module raised, its process crashed, its runner was lost for good) and
has retries left goes back to `pending` as its next attempt, from its last checkpoint. The
first wait is `retry_delay` (default 30s); each later one doubles, up to an hour. A stop by
the user or by `max_duration`, and a full disk, end a job without a retry.
"""

from __future__ import annotations

from sweatpants.errors import InvalidInput
from sweatpants.jobs.models import parse_duration

DEFAULT_RETRY_DELAY = "30s"
MAX_RETRY_DELAY_SECONDS = 3600.0
MAX_RETRIES = 100


def check_retries(retries: int, retry_delay: str | None) -> None:
    """422 naming the field for retries outside 0..100 or a retry_delay that is no duration."""
    if retries < 0 or retries > MAX_RETRIES:
        raise InvalidInput(
            f"retries must be between 0 and {MAX_RETRIES}, not {retries}", field="retries"
        )
    if retry_delay is not None:
        parse_duration(retry_delay, field="retry_delay")


def retry_backoff(retry_delay: str | None, attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first)."""
    base = parse_duration(retry_delay or DEFAULT_RETRY_DELAY, field="retry_delay")
    return float(min(base * 2 ** min(attempt - 1, 30), MAX_RETRY_DELAY_SECONDS))
