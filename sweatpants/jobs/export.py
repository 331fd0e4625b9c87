"""A job's results as a download: NDJSON (one stored JSON document a line) or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sweatpants.store.results import ResultRow

Chunks = Iterable[list[ResultRow]]


def ndjson_lines(chunks: Chunks) -> Iterator[bytes]:
    """Each result's JSON as stored, a line each, a chunk of results per piece."""
    for rows in chunks:
        yield "".join(row[2] + "\n" for row in rows).encode()


def csv_lines(chunks: Callable[[], Chunks]) -> Iterator[bytes]:
    """Columns are every key any result has, in order of first appearance (a first pass over
    `chunks()`, then a second writes the rows). A result that is not an object is `value`."""
    columns: dict[str, None] = {}
    for rows in chunks():
        for row in rows:
            data = json.loads(row[2])
            columns.update(dict.fromkeys(data if isinstance(data, dict) else ["value"]))
    names = list(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(names)
    yield buffer.getvalue().encode()
    for rows in chunks():
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            data = json.loads(row[2])
            if not isinstance(data, dict):
                data = {"value": data}
            writer.writerow([_cell(data.get(name)) for name in names])
        yield buffer.getvalue().encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value
