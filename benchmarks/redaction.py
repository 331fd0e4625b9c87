"""Log ingest with redaction active: a job with secrets logging N lines of ~100 characters.

The daemon replaces each of a job's secret values (4+ characters) in its log lines by
`********` as it stores them. Four jobs of N lines each, one after the other, in one daemon,
all of the same module code (lines of words and numbers, like real logs; every 10th line
holds the token):

- no secrets: the module installed with `token` declared as plain text (the reference);
- 1 secret: `token` declared secret;
- 21 secrets: the same, plus a secret `json` input holding 20 more;
- 1 secret, worst-case text: lines padded with "y" (CPython's substring search skips less
  where the text's characters share their low 6 bits with the secret's: "y" and "9").

Rate = lines / (completed_at - started_at) of each job (daemon clock); the daemon's CPU per
line beside it. The script checks the last lines: the secret is gone, the mask is there.

    .venv/bin/python benchmarks/redaction.py [--quick] [--count N]
"""

from __future__ import annotations

import argparse
import json
import secrets
import textwrap
import time
from functools import partial
from typing import Any

from common import (
    Daemon,
    Figure,
    arguments,
    attempt,
    bench_daemon,
    cpu_seconds,
    parse_ts,
    print_table,
    wait_final,
    write_json,
)

SECRET_ID = "bench-secret-chatter"
PLAIN_ID = "bench-plain-chatter"  # the same code, its token declared as plain text
EVERY = 10  # every 10th line holds the token

# ~100 characters a line; `token=<token>` on every 10th line.
CHATTER = """
from sweatpants import Module

WORDS = "fetched page status items parsed product price listing retry proxy".split()


def words(i):
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8))


class TokenChatter(Module):
    async def run(self, inputs, settings):
        log = self.log
        token, every = inputs["token"], int(inputs["every"])
        plain = inputs["text"] == "words"
        for i in range(int(inputs["count"])):
            text = f"{words(i)} id={i * 7919 % 1000003}" if plain else "y" * 70
            if i % every == 0:
                await log(f"line {i:08d} token={token} {text[:40]}")
            else:
                await log(f"line {i:08d} {text}")
        yield {"lines": int(inputs["count"])}
"""


def inputs_of(token_type: str) -> list[dict[str, Any]]:
    return [
        {"id": "token", "type": token_type, "required": True},
        {"id": "more", "type": "json", "secret": True},
        {"id": "count", "type": "integer", "default": 1000},
        {"id": "every", "type": "integer", "default": EVERY},
        {"id": "text", "type": "text", "default": "words"},
    ]


def extend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, help="log lines per job (200,000)")


def install(daemon: Daemon) -> None:
    for module_id, token_type in ((SECRET_ID, "secret"), (PLAIN_ID, "text")):
        folder = daemon.data_dir / "modules" / module_id
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "id": module_id,
            "name": module_id,
            "version": "1.0.0",
            "inputs": inputs_of(token_type),
        }
        (folder / "module.json").write_text(json.dumps(manifest, indent=2))
        (folder / "main.py").write_text(textwrap.dedent(CHATTER).lstrip())


def run_job(daemon: Daemon, module_id: str, inputs: dict[str, Any], count: int) -> dict[str, Any]:
    response = daemon.client().post("/jobs", json={"module_id": module_id, "inputs": inputs})
    if response.status_code != 200:
        raise SystemExit(f"POST /jobs answered {response.status_code}: {response.text}")
    (job,) = wait_final(daemon, [response.json()["id"]], max(60, count / 500))
    if job["status"] != "completed":
        raise SystemExit(f"the {module_id} job ended {job['status']}: {job.get('error')}")
    if int(job["log_count"]) < count:
        raise SystemExit(f"log_count {job['log_count']} < {count} lines logged")
    return job


def check_redacted(daemon: Daemon, job_id: str, token: str, count: int, masked: bool) -> None:
    tail = daemon.get(f"/jobs/{job_id}/logs", limit=2 * EVERY)["logs"]
    text = "\n".join(entry["message"] for entry in tail)
    if masked and token in text:
        raise SystemExit("a secret was stored in clear: redaction did not happen")
    shown = "token=********" if masked else f"token={token}"
    if shown not in text or f"line {count - 1:08d}" not in text:
        raise SystemExit(f"the last lines are not as logged (and redacted):\n{text[-500:]}")


def measure(daemon: Daemon, label: str, key: str, run: Any, count: int) -> list[Figure]:
    cpu0 = cpu_seconds(daemon.pid)
    wall0 = time.monotonic()
    job = run()
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(daemon.pid) - cpu0
    engine = parse_ts(job["completed_at"]) - parse_ts(job["started_at"])
    return [
        Figure(
            key,
            f"log lines/s, {label}",
            count / max(engine, 1e-3),
            "lines/s",
            note=f"{count:,} lines in {engine:.2f} s (started_at→completed_at); wall clock "
            f"{wall:.2f} s; the daemon used {cpu:.2f} CPU-s",
        ),
        Figure(f"{key}_cpu_us", f"daemon CPU per log line, {label}", cpu * 1e6 / count, "us"),
    ]


def main() -> int:
    args = arguments(__doc__.splitlines()[0], extend)
    count = args.count or (20_000 if args.quick else 200_000)
    errors: list[str] = []
    figures: list[Figure] = []
    token = f"tok-{secrets.token_hex(16)}"
    more = [f"extra-{secrets.token_hex(8)}" for _ in range(20)]
    cases: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
        ("no secrets (redaction off)", "logs_plain_per_s", PLAIN_ID, {}),
        ("1 secret", "logs_redacted_per_s", SECRET_ID, {}),
        ("21 secrets", "logs_redacted_21_per_s", SECRET_ID, {"more": more}),
        ("1 secret, worst-case text", "logs_redacted_worst_per_s", SECRET_ID, {"text": "y"}),
    )
    with bench_daemon() as daemon:
        install(daemon)
        for module_id in (PLAIN_ID, SECRET_ID):  # warm up; the module answers as declared
            warm = run_job(daemon, module_id, {"token": token, "count": 100}, 100)
            check_redacted(daemon, warm["id"], token, 100, masked=module_id == SECRET_ID)

        def one_job(module_id: str, extra: dict[str, Any]) -> dict[str, Any]:
            job = run_job(daemon, module_id, {"token": token, "count": count, **extra}, count)
            check_redacted(daemon, job["id"], token, count, masked=module_id == SECRET_ID)
            return job

        for label, key, module_id, extra in cases:
            run = partial(one_job, module_id, extra)
            figures += (
                attempt(errors, label, partial(measure, daemon, label, key, run, count)) or []
            )
    print_table("log ingest with redaction", figures, errors)
    write_json(args.json, "redaction", figures, None, errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
