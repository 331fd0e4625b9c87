"""Turn a value given by a user (JSON body, form, CLI) into the type a manifest field declares.

Kinds are `text`, `number`, `integer`, `boolean`, `json`, `select` and `multiselect`. Each
coercer returns the coerced value or raises `ValueError` with a short reason; the manifest adds
the field name, and the field's rules (`field_rules.py`: options, bounds, pattern) come after.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

KINDS = ("text", "number", "integer", "boolean", "json", "select", "multiselect")

# Types seen in module.json files in the wild, mapped to the kind they behave as.
# Anything not listed here and not a kind is treated as text.
ALIASES = {
    "string": "text",
    "str": "text",
    "secret": "text",
    "password": "text",
    "textarea": "text",
    "url": "text",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "object": "json",
    "array": "json",
    "list": "json",
    "dict": "json",
}

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


def kind_of(declared: str) -> str:
    """The kind a declared type behaves as (`secret` -> `text`, `int` -> `integer`, ...)."""
    name = declared.strip().lower()
    if name in KINDS:
        return name
    return ALIASES.get(name, "text")


def is_blank(kind: str, value: Any) -> bool:
    """A value that counts as "not given": None, or an empty string for a non-text kind."""
    if value is None:
        return True
    if kind == "multiselect" and isinstance(value, list | tuple):
        return not value
    return kind != "text" and isinstance(value, str) and not value.strip()


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected text, got {type(value).__name__} {_short(value)}")


def to_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer, got boolean {_short(value)}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number.is_integer():
            return int(number)
    raise ValueError(f"expected an integer, got {_short(value)}")


def to_number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got boolean {_short(value)}")
    number: int | float
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                raise ValueError(f"expected a number, got {_short(value)}") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__} {_short(value)}")
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {_short(value)}")
    return number


def to_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"expected true or false, got {_short(value)}")


def to_json(value: Any) -> Any:
    """Structured JSON passes as is; a string must be JSON text and is parsed."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"expected JSON (a list, an object or JSON text), got {_short(value)}: "
                f"{exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from None
    if value is None or isinstance(value, bool | int | float | list | dict):
        return value
    raise ValueError(f"expected JSON, got {type(value).__name__}")


def to_choice(value: Any) -> Any:
    """One value of a `select`: text, a number or true/false (the options decide which)."""
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"expected one of the options, got {type(value).__name__} {_short(value)}")


def to_choices(value: Any) -> list[Any]:
    """The values of a `multiselect`: a list, JSON text of a list, or text split at commas."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"expected a list of options, got {_short(value)}: {exc.msg}"
                ) from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        value = [value]
    return [to_choice(item) for item in value]


COERCERS: dict[str, Callable[[Any], Any]] = {
    "text": to_text,
    "number": to_number,
    "integer": to_integer,
    "boolean": to_boolean,
    "json": to_json,
    "select": to_choice,
    "multiselect": to_choices,
}


def coerce(kind: str, value: Any) -> Any:
    """`value` as `kind`, or `ValueError` saying what was expected."""
    return COERCERS[kind](value)
