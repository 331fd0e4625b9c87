"""The `module.json` model: parsing with errors that name the file and the field, and input
coercion against the declared fields.

Schema (compatible with the earlier engine): `id`, `name`, `version` are required;
`description`, `entrypoint` (default `main.py`), `inputs`, `settings`, `capabilities` are
optional. `inputs`/`settings` may be a list of `{id, type, required, default, description}`
or an object keyed by id (both are seen in the wild). Keys this model does not know are kept
in `extra` (on the manifest and on each field) and written back by `to_dict()`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sweatpants.errors import InvalidInput
from sweatpants.modules import coerce as coercion
from sweatpants.modules.field_rules import RuleProblem, Rules, parse_rules
from sweatpants.modules.ids import module_id_problem, subpath_problem
from sweatpants.secrets import SECRET_MASK as SECRET_MASK  # re-exported: shown for a secret

MANIFEST_NAME = "module.json"
MAX_MANIFEST_BYTES = 1_000_000

_KIND_NAMES = {
    "text": "text",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "json": "JSON",
    "select": "one of the options",
    "multiselect": "a list of the options",
}
_FIELD_KEYS = frozenset({"id", "type", "required", "default", "description"})
_MANIFEST_KEYS = frozenset(
    {"id", "name", "version", "description", "entrypoint", "inputs", "settings", "capabilities"}
)


class _Problem(Exception):
    """A manifest error at `where` (like `inputs[2].type`); `Manifest` adds the file name."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Field:
    """One declared input or setting. `type` is as declared; `kind` is how it behaves."""

    id: str
    type: str = "text"
    required: bool = False
    default: Any = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What `extra` declares beyond the kind (options, min/max/step, pattern, label...), parsed.
    rules: Rules = field(default_factory=Rules)

    @property
    def kind(self) -> str:
        """`text`, `number`, `integer`, `boolean`, `json`, `select` or `multiselect` (unknown
        types behave as text)."""
        return coercion.kind_of(self.type)

    @property
    def secret(self) -> bool:
        """Values of secret fields are masked wherever they are shown."""
        return (
            self.type.strip().lower() in {"secret", "password"} or self.extra.get("secret") is True
        )

    def coerce(self, value: Any) -> Any:
        """`value` as this field's kind, within its rules; `ValueError` with a reason if not."""
        return self.rules.check(self.kind, coercion.coerce(self.kind, value))

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "description": self.description,
        }
        body.update(self.extra)
        return body

    @classmethod
    def parse(cls, raw: Any, where: str) -> Field:
        """A field from its JSON object; `_Problem` naming `where` (e.g. `inputs[2]`)."""
        if not isinstance(raw, Mapping):
            raise _Problem(where, f"must be an object, got {_json_type(raw)}")
        field_id = raw.get("id")
        if not isinstance(field_id, str) or not field_id.strip():
            raise _Problem(f"{where}.id", "is required and must be a non-empty string")
        if len(field_id) > 128 or any(ord(ch) < 32 for ch in field_id):
            raise _Problem(f"{where}.id", f"{field_id!r} is not a usable field id")
        declared = raw.get("type", "text")
        if declared is None:
            declared = "text"
        if not isinstance(declared, str) or not declared.strip():
            raise _Problem(
                f"{where}.type",
                f"must be one of {', '.join(coercion.KINDS)}; got {declared!r}",
            )
        required = raw.get("required", False)
        if required is None:
            required = False
        if not isinstance(required, bool):
            raise _Problem(f"{where}.required", f"must be true or false, got {required!r}")
        description = raw.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            raise _Problem(f"{where}.description", "must be a string")
        extra = {key: value for key, value in raw.items() if key not in _FIELD_KEYS}
        try:
            rules = parse_rules(raw, coercion.kind_of(declared))
        except RuleProblem as problem:
            raise _Problem(f"{where}.{problem.key}", problem.message) from None
        made = cls(
            id=field_id,
            type=declared,
            required=required,
            default=None,
            description=description,
            extra=extra,
            rules=rules,
        )
        default = raw.get("default")
        if coercion.is_blank(made.kind, default):
            return made
        try:
            default = made.coerce(default)
        except ValueError as exc:
            raise _Problem(f"{where}.default", str(exc)) from None
        return dataclasses.replace(made, default=default)


@dataclass(frozen=True)
class Manifest:
    """A parsed module.json. Build it with `Manifest.load(module_dir)` or `Manifest.parse`."""

    id: str
    name: str
    version: str
    description: str = ""
    entrypoint: str = "main.py"
    inputs: tuple[Field, ...] = ()
    settings: tuple[Field, ...] = ()
    capabilities: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    # ----- loading

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        """Read `<path>/module.json` (or `path` itself when it names the file) and check it.

        Raises `InvalidInput` whose message starts with the file and names the field, like
        `/x/module.json: field 'version' is required`. The entrypoint must exist.
        """
        given = Path(path)
        file = (
            given if given.name == MANIFEST_NAME and not given.is_dir() else given / MANIFEST_NAME
        )
        try:
            size = file.stat().st_size
            if size > MAX_MANIFEST_BYTES:
                raise InvalidInput(
                    f"{file}: too large ({size} bytes; at most {MAX_MANIFEST_BYTES})",
                    field=MANIFEST_NAME,
                )
            text = file.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InvalidInput(
                f"{file}: not found; a module folder needs a {MANIFEST_NAME}",
                field=MANIFEST_NAME,
            ) from None
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                f"{file}: not UTF-8 text (byte {exc.start})", field=MANIFEST_NAME
            ) from None
        except OSError as exc:
            raise InvalidInput(
                f"{file}: cannot be read ({exc.strerror or exc})", field=MANIFEST_NAME
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{file}: not valid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})",
                field=MANIFEST_NAME,
            ) from None
        manifest = cls.parse(data, source=str(file))
        entry = file.parent / manifest.entrypoint
        root = file.parent.resolve()
        resolved = entry.resolve()
        if root not in resolved.parents:
            raise InvalidInput(
                f"{file}: field 'entrypoint' {manifest.entrypoint!r} leads outside the module "
                "folder",
                field="entrypoint",
            )
        if not resolved.is_file():
            raise InvalidInput(
                f"{file}: field 'entrypoint': {manifest.entrypoint!r} does not exist in "
                f"{file.parent}",
                field="entrypoint",
            )
        return manifest

    @classmethod
    def parse(cls, data: Any, *, source: str = MANIFEST_NAME) -> Manifest:
        """A manifest from decoded JSON; `InvalidInput` naming `source` and the field."""
        try:
            return cls._parse(data)
        except _Problem as problem:
            raise InvalidInput(
                f"{source}: field '{problem.where}' {problem.message}", field=problem.where
            ) from None

    @classmethod
    def _parse(cls, data: Any) -> Manifest:
        if not isinstance(data, Mapping):
            raise _Problem("(top level)", f"must be a JSON object, got {_json_type(data)}")
        for key in ("id", "name", "version"):
            if data.get(key) is None:
                raise _Problem(key, "is required")
        problem = module_id_problem(data["id"])
        if problem is not None:
            raise _Problem("id", problem)
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise _Problem("name", "must be a non-empty string")
        version = data["version"]
        if isinstance(version, int | float) and not isinstance(version, bool):
            version = str(version)
        if not isinstance(version, str) or not version.strip():
            raise _Problem("version", 'must be a non-empty string like "1.0.0"')
        description = data.get("description") or ""
        if not isinstance(description, str):
            raise _Problem("description", "must be a string")
        entrypoint = data.get("entrypoint") or "main.py"
        problem = subpath_problem(entrypoint)
        if problem is not None:
            raise _Problem("entrypoint", f"{problem}; it must be a file inside the module folder")
        return cls(
            id=data["id"],
            name=name,
            version=version,
            description=description,
            entrypoint=entrypoint,
            inputs=_parse_fields(data.get("inputs"), "inputs"),
            settings=_parse_fields(data.get("settings"), "settings"),
            capabilities=_parse_capabilities(data.get("capabilities")),
            extra={key: value for key, value in data.items() if key not in _MANIFEST_KEYS},
        )

    # ----- values

    def coerce_inputs(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Inputs checked and coerced: defaults applied, required enforced, types coerced.

        Keys the manifest does not declare are kept as given (the earlier engine passed them
        through and modules in the wild rely on it). Errors: `InvalidInput(field="inputs.<id>")`.
        """
        return _coerce_values(self.inputs, values, "inputs")

    def coerce_settings(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Like `coerce_inputs`, for the declared settings (`field="settings.<id>"`)."""
        return _coerce_values(self.settings, values, "settings")

    def secret_input_ids(self) -> frozenset[str]:
        """The ids of the inputs declared secret."""
        return frozenset(f.id for f in self.inputs if f.secret)

    def secret_setting_ids(self) -> frozenset[str]:
        """The ids of the settings declared secret."""
        return frozenset(f.id for f in self.settings if f.secret)

    def mask_inputs(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` with those of secret inputs replaced by `********`, for display."""
        return _mask(self.inputs, values)

    def mask_settings(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """`values` with those of secret settings replaced by `********`, for display."""
        return _mask(self.settings, values)

    # ----- output

    def to_summary(self) -> dict[str, Any]:
        """The list view: id, name, version, description, capabilities."""
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "capabilities": list(self.capabilities),
        }

    def to_dict(self) -> dict[str, Any]:
        """The full manifest, extra keys included; inputs and settings always as lists."""
        body: dict[str, Any] = dict(self.extra)
        body.update(self.to_summary())
        body["entrypoint"] = self.entrypoint
        body["inputs"] = [f.to_dict() for f in self.inputs]
        body["settings"] = [f.to_dict() for f in self.settings]
        return body


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _parse_fields(raw: Any, section: str) -> tuple[Field, ...]:
    if raw is None:
        return ()
    items: Iterable[tuple[str, Any]]
    if isinstance(raw, list):
        items = ((f"{section}[{index}]", item) for index, item in enumerate(raw))
    elif isinstance(raw, Mapping):
        items = (
            (f"{section}.{key}", {"id": key, **value} if isinstance(value, Mapping) else value)
            for key, value in raw.items()
        )
    else:
        raise _Problem(
            section, f"must be a list of fields or an object keyed by id, got {_json_type(raw)}"
        )
    fields: list[Field] = []
    seen: set[str] = set()
    for where, item in items:
        parsed = Field.parse(item, where)
        if parsed.id in seen:
            raise _Problem(f"{where}.id", f"{parsed.id!r} is declared twice")
        seen.add(parsed.id)
        fields.append(parsed)
    return tuple(fields)


def _parse_capabilities(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, Mapping):
        raw = [key for key, enabled in raw.items() if enabled]
    if not isinstance(raw, list):
        raise _Problem("capabilities", f"must be a list of strings, got {_json_type(raw)}")
    names: list[str] = []
    for index, name in enumerate(raw):
        if not isinstance(name, str) or not name.strip():
            raise _Problem(f"capabilities[{index}]", "must be a non-empty string")
        if name not in names:
            names.append(name)
    return tuple(names)


def _coerce_values(
    fields: tuple[Field, ...], values: Mapping[str, Any] | None, section: str
) -> dict[str, Any]:
    if values is None:
        values = {}
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"{section} must be a JSON object, got {_json_type(values)}", field=section
        )
    result: dict[str, Any] = dict(values)
    for declared in fields:
        name = f"{section}.{declared.id}"
        given = values.get(declared.id)
        if not coercion.is_blank(declared.kind, given):
            try:
                result[declared.id] = declared.coerce(given)
            except ValueError as exc:
                if declared.secret:  # the reason would repeat the value
                    raise InvalidInput(
                        f"{name}: expected {_KIND_NAMES.get(declared.kind, declared.kind)}; "
                        "the value given is secret and not repeated here",
                        field=name,
                    ) from None
                raise InvalidInput(f"{name}: {exc}", field=name) from None
        elif declared.default is not None:
            result[declared.id] = copy.deepcopy(declared.default)
        elif declared.required:
            raise InvalidInput(f"{name} is required ({declared.type})", field=name)
        else:
            result.pop(declared.id, None)
    return result


def _mask(fields: tuple[Field, ...], values: Mapping[str, Any]) -> dict[str, Any]:
    secret = {f.id for f in fields if f.secret}
    return {
        key: SECRET_MASK if key in secret and value not in (None, "") else value
        for key, value in values.items()
    }
