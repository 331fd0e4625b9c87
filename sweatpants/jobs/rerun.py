"""Run a job again (`POST /jobs/{id}/rerun`): a new job with the same module, inputs and
settings, secrets included, copied inside the daemon so no client ever holds them.

The original's values are read as stored (secrets sealed), unsealed here, overridden key by
key by what the caller gives, and submitted like any new job (validated again, sealed again
by the submit). A value of an override that is the mask `********` for a secret field keeps
the original's value: a client may send back the masked job it was shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from sweatpants.errors import Conflict, NotFound
from sweatpants.jobs.manager import JobManager
from sweatpants.jobs.models import Job, JobTrigger
from sweatpants.modules.manifest import SECRET_MASK, Field, Manifest
from sweatpants.secrets import SecretBox

OVERRIDABLE = ("inputs", "settings", "max_duration", "executor")


class ModuleLookup(Protocol):
    def get(self, module_id: str) -> Any: ...


async def rerun(
    jobs: JobManager,
    modules: ModuleLookup,
    box: SecretBox,
    job_id: str,
    overrides: Mapping[str, Any] | None = None,
    created_by: int | None = None,
) -> Job:
    """Submit a copy of job `job_id` with `overrides` (only the keys of `OVERRIDABLE` that
    are present count; `max_duration: None` means no limit). 404 for an unknown id; 409 when
    its module is no longer installed."""
    given = dict(overrides or {})
    original = await jobs.reads.find(job_id)  # as stored: secrets still sealed
    try:
        installed = modules.get(original.module_id)
    except NotFound:
        raise Conflict(
            f"job {original.id} ran module {original.module_id!r}, which is no longer "
            "installed; install it again to run this job again",
            field="module_id",
        ) from None
    manifest: Manifest = installed.manifest
    inputs = _over(
        manifest.inputs, _as_given(manifest.inputs, box.unseal(original.inputs)), given, "inputs"
    )
    settings = _over(
        manifest.settings,
        _as_given(manifest.settings, box.unseal(original.settings)),
        given,
        "settings",
    )
    max_duration = given.get("max_duration", original.max_duration)
    executor = given.get("executor") or original.executor
    return await jobs.submit(
        original.module_id,
        inputs,
        settings,
        max_duration,
        executor=executor,
        retries=original.max_attempts - 1,
        retry_delay=original.retry_delay,
        trigger=JobTrigger.RERUN,
        created_by=created_by,
    )


def _as_given(fields: tuple[Field, ...], values: dict[str, Any]) -> dict[str, Any]:
    """Stored values in a form the submit's coercion turns back into themselves: a `json`
    field whose value is a string was given as JSON text, so it goes back as JSON text."""
    kinds = {f.id: f.kind for f in fields}
    return {
        key: json.dumps(value) if kinds.get(key) == "json" and isinstance(value, str) else value
        for key, value in values.items()
    }


def _over(
    fields: tuple[Field, ...], original: dict[str, Any], given: Mapping[str, Any], group: str
) -> dict[str, Any]:
    """`original` with the values of `given[group]` over it, key by key (the mask for a
    secret keeps the original)."""
    changes = given.get(group)
    if not changes:
        return original
    secret = {f.id for f in fields if f.secret}
    result = dict(original)
    for key, value in changes.items():
        if key in secret and value == SECRET_MASK and key in original:
            continue
        result[key] = value
    return result
