"""`sweatpants module check`: everything that can be known about a module folder before it
runs, each problem naming the file, the line and the field.

In order: module.json is JSON (line and column), fits the JSON Schema (`schema.py`: unknown
types, a select without options, wrong value types), loads as a manifest (`manifest.py`: min
above max, a default outside its options, a bad pattern, an entrypoint that is missing), and
its entrypoint imports and defines a `Module` subclass whose `run` is an async generator.
Importing runs the module's top-level code, as installing it into a daemon would at its first
job; nothing of the module's `run` is called.
"""

from __future__ import annotations

import inspect
import json
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sweatpants.errors import InvalidInput
from sweatpants.modules.schema import field_name, line_of, parse_field_name, schema_problems
from sweatpants.modules.schema import value_lines as _value_lines

if TYPE_CHECKING:
    from sweatpants.modules.manifest import Manifest

MANIFEST_NAME = "module.json"


@dataclass
class Problem:
    """One thing wrong: in `file` at `line` (when known), about `field` (when one is at fault)."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f" line {self.line}" if self.line else "")
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


@dataclass
class Report:
    """What `check_module` found: the manifest when it loaded, problems, and notes (fine but
    worth knowing)."""

    folder: Path
    manifest: Manifest | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    class_name: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def check_module(folder: str | Path) -> Report:
    """Check the module in `folder` (or the folder of a module.json given directly)."""
    from sweatpants.modules.manifest import Manifest

    path = Path(folder).expanduser()
    if path.name == MANIFEST_NAME and path.is_file():
        path = path.parent
    report = Report(folder=path.resolve())
    file = path / MANIFEST_NAME
    shown = str(file)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        report.problems.append(
            Problem(shown, f"not found; a module folder needs a {MANIFEST_NAME}")
        )
        return report
    except (OSError, UnicodeDecodeError) as exc:
        report.problems.append(Problem(shown, f"cannot be read: {exc}"))
        return report
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        report.problems.append(
            Problem(shown, f"not valid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno)
        )
        return report
    lines = _value_lines(text)
    for line, where, message in schema_problems(text, data):
        report.problems.append(Problem(shown, message, line=line, field=where))
    try:
        report.manifest = Manifest.load(path)
    except InvalidInput as exc:
        culprit = exc.field if exc.field and exc.field != MANIFEST_NAME else None
        if culprit is None or not _covered(culprit, report.problems):
            located = line_of(lines, parse_field_name(culprit)) if culprit else None
            message = exc.detail.split(f"field '{culprit}' ", 1)[-1] if culprit else exc.detail
            if message.startswith(f"{file}: "):
                message = message[len(f"{file}: ") :]
            report.problems.append(Problem(shown, message, line=located, field=culprit))
    report.problems.sort(key=lambda problem: problem.line or 0)
    if report.manifest is not None and report.ok:
        _check_entrypoint(report, path, report.manifest)
    return report


def _covered(where: str, problems: list[Problem]) -> bool:
    """Whether a schema problem already names this field (or one containing it)."""
    return any(
        problem.field is not None
        and (where == problem.field or where.startswith(problem.field + "."))
        for problem in problems
    ) or any(problem.field == field_name(parse_field_name(where)[:-1]) for problem in problems)


def _check_entrypoint(report: Report, folder: Path, manifest: Manifest) -> None:
    from sweatpants.jobs.protocol import JobSpec
    from sweatpants.jobs.runner import load_module_class

    entry = folder / manifest.entrypoint
    spec = JobSpec(
        job_id="check",
        module_id=manifest.id,
        module_dir=str(folder.resolve()),
        entrypoint=manifest.entrypoint,
        deps_path=None,
        inputs={},
        settings={},
        checkpoint=None,
    )
    saved_path = list(sys.path)
    try:
        cls = load_module_class(spec)
    except SyntaxError as exc:
        report.problems.append(
            Problem(str(entry), f"{type(exc).__name__}: {exc.msg}", line=exc.lineno)
        )
        return
    except BaseException as exc:  # the module's own code: anything can come out of it
        if isinstance(exc, KeyboardInterrupt):
            raise
        line = None
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if Path(frame.filename).resolve() == entry.resolve():
                line = frame.lineno
                break
        text = str(exc) if isinstance(exc, TypeError | FileNotFoundError) else None
        report.problems.append(
            Problem(str(entry), text or f"cannot be imported: {type(exc).__name__}: {exc}", line)
        )
        return
    finally:
        sys.path[:] = saved_path
    report.class_name = cls.__name__
    run = getattr(cls, "run", None)
    if inspect.iscoroutinefunction(run):
        report.notes.append(
            f"{cls.__name__}.run is a coroutine: its return value becomes the results at the "
            "end; `yield` them instead to stream each as it comes and resume after a checkpoint"
        )
    elif run is None or not inspect.isasyncgenfunction(run):
        report.problems.append(
            Problem(
                str(entry),
                f"{cls.__name__}.run must be an async generator: "
                "`async def run(self, inputs, settings):` that yields dict results",
                line=_line_of_function(run),
            )
        )


def _line_of_function(function: object) -> int | None:
    try:
        return inspect.getsourcelines(function)[1]  # type: ignore[arg-type]
    except (OSError, TypeError):
        return None
