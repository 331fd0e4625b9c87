"""The JSON Schema of module.json (`module.schema.json` beside this file), and checking a
manifest's text against it with problems that name the line and the field.

The daemon serves the file at `GET /schema/module.json` so editors can validate and complete
module.json; `sweatpants module check` uses `schema_problems`. The schema is the strict view
(an unknown `type` is a problem); the loader (`manifest.py`) stays lenient so that modules
written for the earlier engine keep loading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("module.schema.json")
Location = tuple[str | int, ...]
_SPACE = " \t\r\n"


@cache
def schema_text() -> str:
    return SCHEMA_FILE.read_text(encoding="utf-8")


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_text())
    return schema


def field_name(location: Iterable[str | int]) -> str:
    """(`inputs`, 2, `type`) → `inputs[2].type`, as the manifest loader names fields."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(top level)"


def parse_field_name(name: str) -> Location:
    """`inputs[2].type` → (`inputs`, 2, `type`): the inverse of `field_name`."""
    parts: list[str | int] = []
    for dotted in name.split("."):
        head, _, rest = dotted.partition("[")
        if head:
            parts.append(head)
        for index in rest.split("[") if rest else []:
            number = index.rstrip("]")
            parts.append(int(number) if number.isdigit() else number)
    return tuple(parts)


def value_lines(text: str) -> dict[Location, int]:
    """The line each value of a valid JSON document starts on, by its location."""
    lines: dict[Location, int] = {}

    def skip(index: int) -> int:
        while index < len(text) and text[index] in _SPACE:
            index += 1
        return index

    def value(index: int, where: Location) -> int:
        index = skip(index)
        lines[where] = text.count("\n", 0, index) + 1
        opening = text[index]
        if opening not in "{[":
            _, end = json.JSONDecoder().raw_decode(text, index)
            return int(end)
        closing = "}" if opening == "{" else "]"
        index = skip(index + 1)
        position = 0
        while text[index] != closing:
            if opening == "{":
                key, index = scanstring(text, index + 1)
                index = skip(index) + 1  # the ':'
                index = value(index, (*where, key))
            else:
                index = value(index, (*where, position))
                position += 1
            index = skip(index)
            if text[index] == ",":
                index = skip(index + 1)
        return index + 1

    value(0, ())
    return lines


def line_of(lines: dict[Location, int], where: Location) -> int | None:
    """The line of `where`, else of the nearest enclosing value that has one."""
    while True:
        if where in lines:
            return lines[where]
        if not where:
            return None
        where = where[:-1]


def schema_problems(text: str, data: Any) -> list[tuple[int | None, str, str]]:
    """(line, field, message) for each place `data` (decoded from `text`) breaks the schema."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(load_schema())
    lines = value_lines(text)
    found: list[tuple[int | None, str, str]] = []
    seen: set[tuple[str, str]] = set()
    for error in validator.iter_errors(data):
        for leaf in _leaves(error):
            where: Location = tuple(leaf.absolute_path)
            key = (field_name(where), _message(leaf))
            if key not in seen:
                seen.add(key)
                found.append((line_of(lines, where), *key))
    return sorted(found, key=lambda problem: (problem[0] or 0, problem[1]))


def _leaves(error: Any) -> list[Any]:
    """The errors that say what is wrong: for a oneOf/anyOf, those of the branches whose type
    fitted the value (a list given where a list or an object is allowed fails the object
    branch by its type, which says nothing useful)."""
    if not error.context:
        return [error]
    fitting = [
        sub for sub in error.context if not (sub.validator == "type" and not sub.relative_path)
    ]
    if not fitting:
        return [error]
    return [leaf for sub in fitting for leaf in _leaves(sub)]


def _message(error: Any) -> str:
    if error.validator == "enum" and error.path and error.path[-1] == "type":
        return (
            f"{error.instance!r} is not a known type; use one of text, number, integer, "
            "boolean, json, select, multiselect"
        )
    if error.validator == "required":
        message = str(error.message).replace("is a required property", "is required")
        kind = error.instance.get("type") if isinstance(error.instance, dict) else None
        return f"{message} for a {kind}" if kind in ("select", "multiselect") else message
    return str(error.message)
