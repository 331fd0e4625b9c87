"""Turn what a module hands over (results, checkpoints) into JSON text, or say clearly why not.

Runs in the job process, so it imports nothing the daemon alone needs (no FastAPI, no
sqlite3, no store). The common case, plain dicts of str/int/float/bool/None/lists, goes
straight through `json`; only when `json` refuses a value does `_convert` walk it and turn
the common Python types into their JSON form, much as FastAPI's `jsonable_encoder` does
(bytes differ: base64 here, because bytes are rarely UTF-8 text). Anything else is an error
that names the value's place and type. docs/modules.md has the table; tests pin it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import decimal
import enum
import json
import math
import reprlib
import sys
import uuid
from pathlib import PurePath
from typing import Any

# Built once: `json.dumps` with keyword arguments builds a new encoder on every call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False)

HINT = (
    "use JSON values (dict, list, str, int, float, bool, None) or a type from the table in "
    "docs/modules.md (datetime, date, time, timedelta, Decimal, UUID, set, tuple, bytes, Path, "
    "Enum, dataclass, pydantic model), or convert it yourself, e.g. str(value)"
)

_short = reprlib.Repr()
_short.maxstring = 40
_short.maxother = 40


class NotJSONError(TypeError):
    """A result or checkpoint holds a value that has no JSON form; the message says where."""


def result_json(data: Any, number: int) -> str:
    """The JSON text of the `number`th result (from 1) a module yielded.

    A dict is stored as it is; a dataclass or pydantic model as the dict of its fields;
    anything else as `{"value": ...}` (the earlier engine did the same).
    """
    if not isinstance(data, dict):
        fields = _fields(data)
        data = fields if fields is not None else {"value": data}
    return to_json(data, f"result #{number}")


def to_json(value: Any, what: str) -> str:
    """`value` as JSON text; `what` names it in errors ("result #3", "the checkpoint")."""
    try:
        text = _ENCODER.encode(value)
    except (TypeError, ValueError):  # a type json does not know, NaN, a non-str key, a cycle
        text = _ENCODER.encode(_convert(value, what, "", set()))
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            _convert(value, what, "", set())  # finds the string and raises, naming its place
            raise NotJSONError(
                f"{what} is not JSON: it holds a str that is not valid Unicode"
            ) from None
    return text


def _convert(value: Any, what: str, path: str, active: set[int]) -> Any:
    """`value` made of JSON types only; `path` is where it sits ("s.x", "items[2]")."""
    if value is None or isinstance(value, (bool, int)):
        return value  # int subclasses (IntEnum) are numbers to json, as they are here
    if isinstance(value, str):
        _check_text(value, what, path)
        return value  # str subclasses (StrEnum) are strings to json
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        with _entered(value, what, path, active):
            return {
                _key(key, what, path): _convert(item, what, _join(path, key), active)
                for key, item in value.items()
            }
    if isinstance(value, (list, tuple)):
        with _entered(value, what, path, active):
            return [_convert(item, what, f"{path}[{i}]", active) for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        with _entered(value, what, path, active):
            items = [_convert(item, what, f"{path}[{i}]", active) for i, item in enumerate(value)]
        try:
            return sorted(items)  # a stable order when the items can be compared
        except TypeError:
            return items
    return _convert_other(value, what, path, active)


def _convert_other(value: Any, what: str, path: str, active: set[int]) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, (uuid.UUID, PurePath)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return _convert(value.value, what, path, active)
    fields = _fields(value)
    if fields is not None:
        return _convert(fields, what, path, active)
    raise NotJSONError(
        f"{what} is not JSON: {_place(path)} {_describe(value)}, which Sweatpants cannot "
        f"convert; {HINT}"
    )


def _fields(value: Any) -> dict[str, Any] | None:
    """The fields of a dataclass instance or a pydantic model, else None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    pydantic = sys.modules.get("pydantic")  # only if the module already imported it
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        dump = getattr(value, "model_dump", None)  # pydantic 2; 1 has .dict()
        data = dump(mode="json") if dump is not None else value.dict()
        return data if isinstance(data, dict) else None
    return None


def _decimal(value: decimal.Decimal) -> int | float | None:
    """Like jsonable_encoder: an int when the exponent is not negative, else a float."""
    if not value.is_finite():
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _key(key: Any, what: str, path: str) -> str:
    """A dict key as `json` writes it: str as is, numbers, booleans and None as their text."""
    if isinstance(key, str):
        _check_text(key, what, path)
        return key
    if key is True or key is False:
        return "true" if key else "false"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        if math.isfinite(key):
            return float.__repr__(key)
        return "NaN" if math.isnan(key) else "Infinity" if key > 0 else "-Infinity"
    if key is None:
        return "null"
    where = f"field '{path}'" if path else "it"
    raise NotJSONError(
        f"{what} is not JSON: {where} has a key {_short.repr(key)} of type "
        f"{type(key).__qualname__}; JSON object keys are str (int, float, bool and None keys are "
        "turned into text); convert the key yourself, e.g. str(key)"
    )


def _check_text(text: str, what: str, path: str) -> None:
    if text.isascii():
        return
    try:
        text.encode()
    except UnicodeEncodeError:
        raise NotJSONError(
            f"{what} is not JSON: {_place(path)} a str that is not valid Unicode "
            f"({_short.repr(text)} has a lone surrogate, as bytes decoded with "
            "errors='surrogateescape' do, e.g. some file names); repair it, e.g. "
            "value.encode('utf-8', 'replace').decode('utf-8')"
        ) from None


class _entered:
    """Marks a container as being walked, so a container that holds itself is an error."""

    def __init__(self, value: Any, what: str, path: str, active: set[int]) -> None:
        self._id, self._active = id(value), active
        if self._id in active:
            raise NotJSONError(
                f"{what} is not JSON: {_place(path)} a container that holds itself "
                "(a circular reference)"
            )

    def __enter__(self) -> None:
        self._active.add(self._id)

    def __exit__(self, *exc: object) -> None:
        self._active.discard(self._id)


def _join(path: str, key: Any) -> str:
    name = str(key) if isinstance(key, str) else f"[{key!r}]"
    if not path:
        return name
    return f"{path}{name}" if name.startswith("[") else f"{path}.{name}"


def _place(path: str) -> str:
    return f"field '{path}' holds" if path else "it is"


def _describe(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__") and not kind.__module__.startswith(
        "sweatpants_module_"
    ):
        name = f"{kind.__module__}.{name}"
    own_repr: object = kind.__repr__
    if own_repr is object.__repr__:
        return f"an object of type {name}"
    try:
        shown = _short.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        return f"an object of type {name}"
    return f"{shown} (type {name})"
