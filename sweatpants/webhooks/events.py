"""Webhook event names, and which event a job's state change is."""

from __future__ import annotations

from typing import Any

from sweatpants.errors import InvalidInput

JOB_CREATED = "job.created"  # accepted by POST /jobs (or a schedule), waiting for a slot
JOB_STARTED = "job.started"  # its process started (again after a resume)
JOB_COMPLETED = "job.completed"
JOB_FAILED = "job.failed"
JOB_STOPPED = "job.stopped"
TEST = "webhook.test"  # POST /webhooks/{id}/test; goes to that webhook whatever its events
CALLBACK = "callback"  # a module's `send_callback`, not a webhook event

EVENTS = (JOB_CREATED, JOB_STARTED, JOB_COMPLETED, JOB_FAILED, JOB_STOPPED)
ENDINGS = (JOB_COMPLETED, JOB_FAILED, JOB_STOPPED)  # what SWEATPANTS_WEBHOOK_URL hears


def event_of(job: dict[str, Any]) -> str | None:
    """The event a `job` bus message (the job as the API shows it) stands for, if any."""
    status = job.get("status")
    if status in ("completed", "failed", "stopped"):
        return f"job.{status}"
    if status == "running":
        return JOB_STARTED
    if status == "pending" and job.get("started_at") is None and not job.get("resumes"):
        return JOB_CREATED
    return None


def checked_events(value: Any) -> list[str]:
    """The `events` of a webhook: a non-empty list of known names, without repeats."""
    if not isinstance(value, list) or not value:
        raise InvalidInput(
            f"events must be a non-empty list of event names: {', '.join(EVENTS)}",
            field="events",
        )
    for index, name in enumerate(value):
        if name not in EVENTS:
            raise InvalidInput(
                f"events[{index}]: unknown event {name!r}; known events: {', '.join(EVENTS)}",
                field="events",
            )
    return list(dict.fromkeys(value))
