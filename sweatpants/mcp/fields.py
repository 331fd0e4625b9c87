"""A module's declared fields (as `GET /modules/{id}` shows them) as a JSON Schema an agent
can fill in, with the defaults of secret fields never shown."""

from __future__ import annotations

from typing import Any

from sweatpants.secrets import SECRET_MASK

_TYPES = {
    "text": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
}
_ALIASES = {
    "string": "text", "str": "text", "secret": "text", "password": "text", "textarea": "text",
    "url": "text", "int": "integer", "float": "number", "bool": "boolean", "object": "json",
    "array": "json", "list": "json", "dict": "json",
}  # fmt: skip
_KINDS = {"text", "number", "integer", "boolean", "json", "select", "multiselect"}


def kind_of(field: dict[str, Any]) -> str:
    """The kind a declared type behaves as (as `sweatpants.modules.coerce.kind_of` says)."""
    declared = str(field.get("type") or "text").strip().lower()
    return declared if declared in _KINDS else _ALIASES.get(declared, "text")


def is_secret(field: dict[str, Any]) -> bool:
    declared = str(field.get("type") or "").strip().lower()
    return declared in {"secret", "password"} or field.get("secret") is True


def masked_field(field: dict[str, Any]) -> dict[str, Any]:
    """The field as declared, with a secret field's default replaced by the mask."""
    shown = dict(field)
    if is_secret(shown) and shown.get("default") not in (None, ""):
        shown["default"] = SECRET_MASK
    return shown


def _option_values(field: dict[str, Any]) -> list[Any]:
    values = []
    for option in field.get("options") or []:
        values.append(option.get("value") if isinstance(option, dict) else option)
    return values


def property_schema(field: dict[str, Any]) -> dict[str, Any]:
    """One field as a JSON Schema property."""
    kind = kind_of(field)
    schema: dict[str, Any] = {}
    if kind in _TYPES:
        schema["type"] = _TYPES[kind]
    elif kind == "select":
        schema["enum"] = _option_values(field)
    elif kind == "multiselect":
        schema.update(type="array", items={"enum": _option_values(field)}, uniqueItems=True)
    words = [str(field.get(key)) for key in ("label", "description", "help") if field.get(key)]
    if words:
        schema["description"] = " — ".join(words)
    if kind in ("number", "integer"):
        for key, name in (("min", "minimum"), ("max", "maximum"), ("step", "multipleOf")):
            if isinstance(field.get(key), int | float) and not (key == "step" and "min" in field):
                schema[name] = field[key]
    if kind == "text" and isinstance(field.get("pattern"), str):
        schema["pattern"] = f"^(?:{field['pattern']})$"
    if is_secret(field):
        schema["writeOnly"] = True  # the value is sealed by the daemon and never shown again
    elif field.get("default") is not None:
        schema["default"] = field["default"]
    return schema


def object_schema(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON Schema of a module's `inputs` (or `settings`) object."""
    return {
        "type": "object",
        "properties": {str(f.get("id")): property_schema(f) for f in fields if f.get("id")},
        "required": [
            str(f["id"])
            for f in fields
            if f.get("id") and f.get("required") is True and f.get("default") is None
        ],
    }
