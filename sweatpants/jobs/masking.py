"""Masking the secret values that jobs from before sealing hold in clear.

Jobs stored since secrets are sealed hold them as `{"$sealed": ...}`, and `Job.to_api` masks
those by that alone. Rows written by an earlier version hold them in clear; these are masked
here by what the module's manifest declares secret now. A module that is no longer installed
cannot say which of its values were secret: its old rows are shown as stored.

Only for showing a job: what runs a job (and `POST /jobs/{id}/rerun`) reads it as stored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from sweatpants.errors import SweatpantsError
from sweatpants.jobs.models import Job
from sweatpants.secrets import is_sealed, mask

_NONE: frozenset[str] = frozenset()
Declared = tuple[frozenset[str], frozenset[str]]  # secret input ids, secret setting ids


class ModuleLookup(Protocol):
    def get(self, module_id: str) -> Any: ...


class PlainSecrets:
    """Masks the plain secret values of jobs, by their module's manifest."""

    def __init__(self, modules: ModuleLookup) -> None:
        self._modules = modules

    def masked(self, jobs: list[Job]) -> list[Job]:
        """`jobs`, each one that holds a secret in clear replaced by a masked copy. The
        manifest of each module is looked up once per call."""
        declared: dict[str, Declared] = {}
        shown: list[Job] = []
        for job in jobs:
            ids = declared.get(job.module_id)
            if ids is None:
                ids = declared[job.module_id] = self._declared(job.module_id)
            shown.append(_masked(job, ids))
        return shown

    def one(self, job: Job) -> Job:
        return self.masked([job])[0]

    def clear_inputs(self, jobs: list[Job]) -> dict[str, frozenset[str]]:
        """For each job that holds secret inputs in clear, their ids (a search must not
        match those values: `JobManager.search`)."""
        declared: dict[str, Declared] = {}
        found: dict[str, frozenset[str]] = {}
        for job in jobs:
            ids = declared.get(job.module_id)
            if ids is None:
                ids = declared[job.module_id] = self._declared(job.module_id)
            clear = frozenset(key for key in ids[0] if _in_clear(job.inputs, frozenset([key])))
            if clear:
                found[job.id] = clear
        return found

    def _declared(self, module_id: str) -> Declared:
        try:
            manifest = self._modules.get(module_id).manifest
        except SweatpantsError:  # not installed any more (or never): nothing to go by
            return _NONE, _NONE
        return manifest.secret_input_ids(), manifest.secret_setting_ids()


def _masked(job: Job, ids: Declared) -> Job:
    inputs, settings = ids
    if not (inputs or settings):
        return job
    if _in_clear(job.inputs, inputs) or _in_clear(job.settings, settings):
        return replace(job, inputs=mask(job.inputs, inputs), settings=mask(job.settings, settings))
    return job


def _in_clear(values: dict[str, Any], ids: frozenset[str]) -> bool:
    for key in ids:
        value = values.get(key)
        if value is not None and value != "" and not is_sealed(value):
            return True
    return False
