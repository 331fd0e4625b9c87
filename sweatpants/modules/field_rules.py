"""What a declared field allows beyond its kind: choice lists, bounds, steps, patterns, and
the words a form shows (label, placeholder, help).

A field of module.json may carry (all optional, all kept as written in `Field.extra`):
- `options` (`select`, `multiselect`): a list of values, or of `{"value": v, "label": "..."}`;
- `min`, `max`, `step` (`integer`, `number`): the value must lie within and be `min` (or 0)
  plus a whole number of steps;
- `pattern` (`text`): a regular expression the whole text must match; `multiline` (`text`):
  the form shows a text area;
- `label`, `placeholder`, `help` (every kind): what the form shows.

`parse_rules` checks them when the manifest is read (a `RuleProblem` names the key);
`Rules.check` applies them to a value already coerced to the field's kind (a `ValueError`
says what is allowed). The same rules are in the JSON Schema (`module.schema.json`) and in the
dashboard's generated forms (`ui/js/components/fields.js`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHOICE_KINDS = frozenset({"select", "multiselect"})
NUMBER_KINDS = frozenset({"integer", "number"})
STEP_TOLERANCE = 1e-9


class RuleProblem(Exception):
    """A rule of a field is wrong; `key` is the field's key at fault (`options`, `min`, ...)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class Option:
    """One choice of a `select` or `multiselect`: the value sent and the label shown."""

    value: str | int | float | bool
    label: str


@dataclass(frozen=True)
class Rules:
    """The parsed rules of one field (empty: anything of the field's kind is allowed)."""

    options: tuple[Option, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    step: int | float | None = None
    pattern: str | None = None
    multiline: bool = False
    label: str = ""
    placeholder: str = ""
    help: str = ""

    def check(self, kind: str, value: Any) -> Any:
        """`value` (already of `kind`) if the rules allow it; `ValueError` saying why not.

        For a choice the option's own value is returned, so `"2"` typed on a command line
        becomes the `2` a manifest lists.
        """
        if kind == "select":
            return self._choose(value)
        if kind == "multiselect":
            items = value if isinstance(value, list) else [value]
            chosen: list[Any] = []
            for item in items:
                picked = self._choose(item)
                if picked not in chosen:
                    chosen.append(picked)
            return chosen
        if kind in NUMBER_KINDS and isinstance(value, int | float):
            self._check_number(value)
        if (
            kind == "text"
            and self.pattern is not None
            and isinstance(value, str)
            and re.fullmatch(self.pattern, value) is None
        ):
            raise ValueError(f"must match the pattern {self.pattern}")
        return value

    def _choose(self, value: Any) -> Any:
        if not self.options:
            return value
        for option in self.options:
            if type(option.value) is type(value) and option.value == value:
                return option.value
        text = value if isinstance(value, str) else _as_text(value)
        for option in self.options:
            if _as_text(option.value) == text:
                return option.value
        allowed = ", ".join(_shown(option.value) for option in self.options[:20])
        more = ", ..." if len(self.options) > 20 else ""
        raise ValueError(f"must be one of {allowed}{more}; got {_shown(value)}")

    def _check_number(self, value: int | float) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"must be at least {_number(self.minimum)}, got {_number(value)}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"must be at most {_number(self.maximum)}, got {_number(value)}")
        if self.step:
            base = self.minimum if self.minimum is not None else 0
            steps = (value - base) / self.step
            if abs(steps - round(steps)) > STEP_TOLERANCE * max(1.0, abs(steps)):
                start = f" from {_number(base)}" if base else ""
                raise ValueError(
                    f"must go in steps of {_number(self.step)}{start}, got {_number(value)}"
                )


def parse_rules(raw: Mapping[str, Any], kind: str) -> Rules:
    """The rules a field's JSON object declares for a field of `kind`; `RuleProblem` if wrong."""
    words = {key: _words(raw, key) for key in ("label", "placeholder", "help")}
    multiline = raw.get("multiline", False)
    if multiline is None:
        multiline = False
    if not isinstance(multiline, bool):
        raise RuleProblem("multiline", f"must be true or false, got {multiline!r}")
    options = _options(raw.get("options"), kind)
    minimum, maximum, step = (_bound(raw, key, kind) for key in ("min", "max", "step"))
    if minimum is not None and maximum is not None and minimum > maximum:
        raise RuleProblem(
            "min", f"{_number(minimum)} is greater than max {_number(maximum)}; nothing fits"
        )
    if step is not None and step <= 0:
        raise RuleProblem("step", f"must be greater than 0, got {_number(step)}")
    pattern = raw.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str) or not pattern:
            raise RuleProblem("pattern", "must be a regular expression (a non-empty string)")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RuleProblem("pattern", f"is not a valid regular expression: {exc}") from None
    return Rules(
        options=options,
        minimum=minimum,
        maximum=maximum,
        step=step,
        pattern=pattern,
        multiline=multiline,
        **words,
    )


def _words(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RuleProblem(key, f"must be a string, got {_shown(value)}")
    return value


def _options(raw: Any, kind: str) -> tuple[Option, ...]:
    if raw is None:
        if kind in CHOICE_KINDS:
            raise RuleProblem("options", f"is required for a {kind}: list the values to choose")
        return ()
    if not isinstance(raw, list) or not raw:
        raise RuleProblem(
            "options", 'must be a non-empty list of values or of {"value": ..., "label": "..."}'
        )
    options: list[Option] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"options[{index}]"
        if isinstance(item, Mapping):
            if "value" not in item:
                raise RuleProblem(where, 'needs a "value"')
            value, label = item["value"], item.get("label")
            if label is not None and not isinstance(label, str):
                raise RuleProblem(f"{where}.label", "must be a string")
        else:
            value, label = item, None
        if not isinstance(value, str | int | float | bool) or (
            isinstance(value, float) and not math.isfinite(value)
        ):
            raise RuleProblem(where, f"must be a string, a number or true/false, got {value!r}")
        key = _as_text(value)
        if key in seen:
            raise RuleProblem(where, f"{_shown(value)} is listed twice")
        seen.add(key)
        options.append(Option(value, label if label else key))
    return tuple(options)


def _bound(raw: Mapping[str, Any], key: str, kind: str) -> int | float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleProblem(key, f"must be a number, got {_shown(value)}")
    if kind == "integer" and key != "step" and not float(value).is_integer():
        raise RuleProblem(key, f"must be a whole number for an integer field, got {value!r}")
    return value


def _as_text(value: Any) -> str:
    """How a value reads when typed (a command line, a form): `true`, `2`, `2.5`, `red`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)


def _number(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
