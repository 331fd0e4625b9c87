"""Settings stored once per module (`GET`/`PUT /modules/{id}/settings`), merged into its jobs.

A module's stored settings are checked against the `settings` its module.json declares, like
a job's: values coerced to the declared type, unknown keys refused (422 naming the field).
`PUT` changes only the keys it names: `null` removes one (an empty string too, for a field
that is not text), and `********` for a secret keeps the stored secret, so a form can send
back the mask it was shown. Secret values are sealed before they reach the database and
masked whenever they are shown; they are unsealed only to be merged into a new job.

When a job is submitted, its own settings override the stored ones key by key; a key the
job leaves empty (or gives the mask for a secret) takes the stored value. Stored keys the
manifest no longer declares are shown (so they can be removed) but never given to a job.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Protocol

from sweatpants.errors import InvalidInput
from sweatpants.modules import coerce as coercion
from sweatpants.modules.manifest import SECRET_MASK, Field, Manifest
from sweatpants.secrets import SecretBox, is_sealed, mask
from sweatpants.store import Store
from sweatpants.store import module_settings as settings_sql


class ModuleLookup(Protocol):
    """What this needs of the module registry: `get(id).manifest` (404/422 when absent)."""

    def get(self, module_id: str) -> Any: ...


class SettingsChange:
    """What a `PUT` body asks for, checked: values to store (coerced) and keys to remove."""

    def __init__(self) -> None:
        self.put: dict[str, Any] = {}
        self.remove: set[str] = set()


def plan_change(manifest: Manifest, body: Any, stored_keys: set[str]) -> SettingsChange:
    """Check a `PUT` body against the manifest; `InvalidInput` naming the first bad key.

    `stored_keys` are the keys stored now: `null` may remove one that the manifest no longer
    declares, and nothing else undeclared is accepted.
    """
    if not isinstance(body, Mapping):
        raise InvalidInput(
            f"the settings of module {manifest.id!r} must be a JSON object of setting id → "
            f'value, like {{"delay": 2}}; got {_json_type(body)}',
            field="body",
        )
    declared = {f.id: f for f in manifest.settings}
    change = SettingsChange()
    for key, value in body.items():
        name = f"settings.{key}"
        spec = declared.get(key)
        if value is None and (spec is not None or key in stored_keys):
            change.remove.add(key)
            continue
        if spec is None:
            raise InvalidInput(f"{name}: {_unknown(manifest, key)}", field=name)
        if spec.secret and value == SECRET_MASK:
            continue  # the mask a form was shown: keep the stored secret
        if is_sealed(value):
            raise InvalidInput(
                f'{name}: objects of the form {{"$sealed": ...}} are reserved for stored '
                "secrets; send the value itself",
                field=name,
            )
        if coercion.is_blank(spec.kind, value):
            change.remove.add(key)
            continue
        change.put[key] = _coerced(spec, value, name)
    return change


def _coerced(spec: Field, value: Any, name: str) -> Any:
    try:
        return spec.coerce(value)
    except ValueError as exc:
        if spec.secret:  # the coercer's message repeats the value: not for a secret
            raise InvalidInput(
                f"{name}: expected {spec.kind} (the value is secret, so it is not repeated here)",
                field=name,
            ) from None
        raise InvalidInput(f"{name}: {exc}", field=name) from None


def _unknown(manifest: Manifest, key: str) -> str:
    ids = [f.id for f in manifest.settings]
    known = f"its settings are {', '.join(ids)}" if ids else "it declares no settings"
    return (
        f"module {manifest.id!r} has no setting {key!r} ({known}); "
        "pass a job's own extra values in the job's settings instead"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def _decoded(rows: Mapping[str, str]) -> dict[str, Any]:
    return {key: json.loads(text) for key, text in rows.items()}


class StoredSettings:
    """The engine's side of stored module settings: show, change, merge into a job."""

    def __init__(self, store: Store, modules: ModuleLookup, box: SecretBox) -> None:
        self._store = store
        self._modules = modules
        self._box = box

    def _manifest(self, module_id: str) -> Manifest:
        manifest: Manifest = self._modules.get(module_id).manifest  # 422 bad id, 404 absent
        return manifest

    async def shown(self, module_id: str) -> dict[str, Any]:
        """The module's stored settings for display: secrets (and anything sealed) masked."""
        manifest = self._manifest(module_id)
        rows = await self._store.read(lambda c: settings_sql.get(c, module_id))
        return mask(_decoded(rows), manifest.secret_setting_ids())

    async def update(self, module_id: str, body: Any) -> dict[str, Any]:
        """Apply a `PUT` body (see `plan_change`); returns the settings as now stored, masked.
        On any error nothing is changed."""
        manifest = self._manifest(module_id)
        secret_ids = manifest.secret_setting_ids()

        def write(conn: Any) -> dict[str, str]:
            # Checked inside the write, so `stored_keys` is what this transaction sees.
            change = plan_change(manifest, body, set(settings_sql.get(conn, module_id)))
            sealed = self._box.seal(change.put, secret_ids)
            encoded = {key: json.dumps(value) for key, value in sealed.items()}
            return settings_sql.change(
                conn, module_id, put=encoded, remove=change.remove, now=time.time()
            )

        rows = await self._store.write(write)
        return mask(_decoded(rows), secret_ids)

    async def merged(self, manifest: Manifest, own: Mapping[str, Any] | None) -> Any:
        """A job's settings: the stored ones (unsealed) with the job's `own` over them, key
        by key. A key `own` leaves blank, or gives the mask for a secret, keeps the stored
        value. `own` that is not an object is returned as is, for the coercion to refuse."""
        if not manifest.settings:
            return own  # nothing can be stored for it: spare the read
        if own is not None and not isinstance(own, Mapping):
            return own
        rows = await self._store.read(lambda c: settings_sql.get(c, manifest.id))
        declared = {f.id: f for f in manifest.settings}
        stored = self._box.unseal(
            {key: value for key, value in _decoded(rows).items() if key in declared}
        )
        result = dict(stored)
        for key, value in (own or {}).items():
            spec = declared.get(key)
            if key in stored and spec is not None and _keeps_stored(spec, value):
                continue
            result[key] = value
        return result


def _keeps_stored(spec: Field, value: Any) -> bool:
    return coercion.is_blank(spec.kind, value) or (spec.secret and value == SECRET_MASK)
