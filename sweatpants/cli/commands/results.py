"""`sweatpants result JOB_ID`: show a job's results, or stream them all to a file.

`--format ndjson|csv` streams `/jobs/{id}/results/export` in chunks straight to the file (or
stdout): the CLI never holds more than one chunk, whatever the job's size. A file is written
beside its target and renamed when complete, so a failed export leaves no half file behind.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from sweatpants.cli.commands.logs import job_path, positive_int
from sweatpants.cli.context import Context
from sweatpants.cli.errors import CliError
from sweatpants.cli.formatting import cell, short_id
from sweatpants.sizes import human_bytes

FORMATS = ("ndjson", "csv")
PAGE = 1000  # the API's largest page of results
CHUNK = 64 * 1024
MAX_TABLE_COLUMNS = 8


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    result = sub.add_parser(
        "result",
        aliases=["results"],
        parents=[common],
        help="show a job's results, or export them all (--format, --output)",
        description=(
            "Show the first results of a job (a table when they are flat records). "
            "--raw/--json prints the API answer. --format ndjson|csv streams every result to "
            "--output FILE (or stdout) without holding them in memory."
        ),
        epilog=(
            "examples:\n"
            "  sweatpants result 3f2a9c1e\n"
            "  sweatpants result 3f2a9c1e --raw | jq '.results[].data'\n"
            "  sweatpants result 3f2a9c1e --format csv --output results.csv"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    result.add_argument("job_id", metavar="JOB_ID", help="job id or a unique prefix (8+ chars)")
    result.add_argument(
        "--raw", "-r", dest="json", action="store_true", help="print the API's JSON answer"
    )
    result.add_argument(
        "--format", "-F", choices=FORMATS, help="export every result as NDJSON or CSV"
    )
    result.add_argument(
        "--output", "-o", metavar="FILE", help="write the export here ('-' = stdout)"
    )
    result.add_argument(
        "--limit", "-n", type=positive_int, default=PAGE, help=f"results to show ({PAGE})"
    )
    result.set_defaults(handler=result_command)


def result_command(ctx: Context) -> int:
    args = ctx.args
    export_format = args.format
    if export_format is None and args.output:
        export_format = "csv" if args.output.lower().endswith(".csv") else "ndjson"
    if export_format:
        return export(ctx, export_format, args.output)
    job = ctx.client().get(job_path(args.job_id))
    page = fetch_results(ctx, str(job["id"]), args.limit)
    if ctx.json:
        ctx.out.json(page)
    else:
        show_results(ctx, str(job["id"]), page)
    return 0


def fetch_results(ctx: Context, job_id: str, limit: int) -> dict[str, Any]:
    """The first `limit` results, fetched in pages, as one API-shaped answer."""
    results: list[dict[str, Any]] = []
    cursor = None
    answer: dict[str, Any] = {}
    for _ in range(limit // PAGE + 2):
        answer = ctx.client().get(
            f"{job_path(job_id)}/results",
            {"limit": min(PAGE, limit - len(results)), "after": cursor},
        )
        results.extend(answer.get("results", []))
        cursor = answer.get("next_cursor")
        if not cursor or len(results) >= limit:
            break
    return {**answer, "results": results[:limit], "next_cursor": cursor}


def show_results(ctx: Context, job_id: str, page: dict[str, Any]) -> None:
    results = page.get("results", [])
    total = page.get("total", len(results))
    out = ctx.out
    if not results:
        out.line(f"No results for job {short_id(job_id)}.")
        return
    records = [item.get("data") for item in results]
    columns = _flat_columns(records)
    if columns:
        rows = [[cell(record.get(c), 40) for c in columns] for record in records]
        out.table(
            ["#", *columns],
            [[str(item.get("seq", "")), *row] for item, row in zip(results, rows, strict=True)],
        )
    else:
        import json

        for index, (item, record) in enumerate(zip(results, records, strict=True), 1):
            out.line(out.style(f"--- Result {item.get('seq', index)} ---", "cyan"))
            out.line(json.dumps(record, indent=2, ensure_ascii=False))
    if isinstance(total, int) and total > len(results):
        out.note(
            f"Showing {len(results)} of {total} results; all of them: "
            f"sweatpants result {short_id(job_id)} --format csv --output results.csv",
            "dim",
        )


def _flat_columns(records: list[Any]) -> list[str] | None:
    """The keys of flat records (scalars only, few keys), or None to print JSON instead."""
    columns: dict[str, None] = {}
    for record in records:
        if not isinstance(record, dict):
            return None
        for key, value in record.items():
            if isinstance(value, dict | list):
                return None
            columns[str(key)] = None
    return list(columns) if 0 < len(columns) <= MAX_TABLE_COLUMNS else None


def export(ctx: Context, export_format: str, output: str | None) -> int:
    path = f"{job_path(ctx.args.job_id)}/results/export"
    client = ctx.client()
    if output in (None, "-"):
        with client.stream(path, {"format": export_format}) as response:
            _copy(response.iter_bytes(CHUNK), sys.stdout.buffer)
        return 0
    target = Path(output).expanduser()
    written = 0
    with client.stream(path, {"format": export_format}) as response:
        if target.exists() and not target.is_file():
            with target.open("wb") as stream:  # a FIFO or a device: write straight into it
                written = _copy(response.iter_bytes(CHUNK), stream)
        else:
            written = _write_atomically(target, response.iter_bytes(CHUNK))
    ctx.out.note(f"Wrote {target} ({human_bytes(written)}, {export_format}).")
    return 0


def _copy(chunks: Any, stream: IO[bytes]) -> int:
    written = 0
    for chunk in chunks:
        stream.write(chunk)
        written += len(chunk)
    stream.flush()
    return written


def _write_atomically(target: Path, chunks: Any) -> int:
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=directory
        )
    except OSError as exc:
        raise CliError(f"cannot write to {directory}: {exc.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            written = _copy(chunks, stream)
        os.chmod(temp_name, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return written


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
