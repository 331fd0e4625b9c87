"""What a module may yield: the documented conversions, and clear errors for the rest (issue 19).

The conversion table in docs/modules.md is the fixture of the first test: each row's Python
expression is yielded by a real module through a real daemon, and what the daemon stored must
be the row's JSON.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from sweatpants.jobs import protocol
from sweatpants.jobs.runner import Channel
from sweatpants.sdk import encode
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "modules.md"
ROW = re.compile(r"^\| `(?P<python>[^`]+)` \| `(?P<json>[^`]+)` \|")

PRELUDE = """
import asyncio
import datetime
import decimal
import enum
import pathlib
import uuid
from dataclasses import dataclass

from sweatpants import Module


class Color(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int
    y: object


class Foo:
    pass
"""

PYDANTIC = """
import pydantic


class Item(pydantic.BaseModel):
    name: str
    made: datetime.date
"""


def documented_conversions() -> list[tuple[str, str]]:
    """(Python expression, stored JSON) for each row of the table in docs/modules.md."""
    text = DOC.read_text()
    section = text.split("## What a result may hold", 1)[1].split("\n## ", 1)[0]
    rows = [ROW.match(line) for line in section.splitlines()]
    return [(m["python"], m["json"]) for m in rows if m]


def module_yielding(body: str, prelude: str = PRELUDE) -> str:
    """A module whose run() is `body` (Python statements), after `prelude`."""
    lines = "\n".join("        " + line for line in textwrap.dedent(body).strip().splitlines())
    run = f"\n\nclass Yielder(Module):\n    async def run(self, inputs, settings):\n{lines}\n"
    return prelude + run


def run_job(
    daemon: RunningDaemon, module_id: str, body: str, prelude: str = PRELUDE
) -> tuple[dict[str, Any], list[Any]]:
    write_module(daemon.modules_dir, module_id, module_yielding(body, prelude))
    job_id = daemon.start_job(module_id)
    job = daemon.wait_job(job_id)
    return job, daemon.results(job_id)


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON text, so 3 and 3.0 differ (an int stays an int)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# ---- through a real daemon -----------------------------------------------------------------


@pytest.mark.live
def test_each_documented_conversion_is_what_a_real_job_stores(daemon: RunningDaemon) -> None:
    rows = documented_conversions()
    assert len(rows) >= 15, "the conversion table in docs/modules.md was not found"
    body = "\n".join(f'yield {{"v": {python}}}' for python, _ in rows)
    job, results = run_job(daemon, "conversions", body, PRELUDE + PYDANTIC)
    assert job["status"] == "completed", job
    assert job["result_count"] == len(rows)
    for (python, documented), stored in zip(rows, results, strict=True):
        assert same_json(stored["v"], json.loads(documented)), (python, stored, documented)


@pytest.mark.live
def test_the_reported_module_completes_with_its_values_converted(daemon: RunningDaemon) -> None:
    body = """
    yield {"ok": 1}
    yield {"when": datetime.datetime(2024, 5, 1, 12, 30), "s": {1, 2}}
    """
    job, results = run_job(daemon, "reported", body)
    assert job["status"] == "completed" and job["result_count"] == 2, job
    assert results == [{"ok": 1}, {"when": "2024-05-01T12:30:00", "s": [1, 2]}]


@pytest.mark.live
def test_an_unconvertible_value_fails_the_job_naming_it_and_keeps_the_results_before(
    daemon: RunningDaemon,
) -> None:
    body = """
    yield {"ok": 1}
    yield {"when": datetime.datetime(2024, 5, 1), "s": {"x": Foo()}}
    yield {"never": "stored"}
    """
    job, results = run_job(daemon, "unconvertible", body)
    assert job["status"] == "failed", job
    assert results == [{"ok": 1}] and job["result_count"] == 1
    assert job["error"].startswith(
        "result #2 is not JSON: field 's.x' holds an object of type Foo, which Sweatpants cannot convert;"
    ), job["error"]
    assert "docs/modules.md" in job["error"] and "str(value)" in job["error"]


@pytest.mark.live
def test_every_result_batched_before_a_bad_one_is_stored(daemon: RunningDaemon) -> None:
    # Many results in a few milliseconds travel in batches: the batch holding the bad one's
    # predecessors must still reach the daemon, with the error after them.
    cases = {
        "object": (
            '{"i": 300, "x": Foo()}',
            "result #301 is not JSON: field 'x' holds an object of type Foo",
        ),
        "key": ('{"m": {(1, 2): "pair"}}', "result #301 is not JSON: field 'm' has a key (1, 2)"),
        "cycle": ("_cycle()", "result #301 is not JSON: field 'self' holds a container that"),
        "surrogate": (
            '{"name": "caf\\udce9.txt"}',
            "result #301 is not JSON: field 'name' holds a str that is not valid Unicode",
        ),
    }
    for name, (bad, error) in cases.items():
        body = f"""
        def _cycle():
            looped = {{"i": 300}}
            looped["self"] = looped
            return looped
        await self.log("busy")
        await self.log("busier")
        for i in range(300):
            yield {{"i": i}}
        yield {bad}
        """
        job, results = run_job(daemon, f"batched-{name}", body)
        assert job["status"] == "failed", job
        assert job["error"].startswith(error), job["error"]
        assert [r["i"] for r in results] == list(range(300)), name
        assert job["result_count"] == 300


@pytest.mark.live
def test_progress_and_logs_that_json_cannot_frame_no_longer_lose_the_job(
    daemon: RunningDaemon,
) -> None:
    # Before the fix, a Decimal progress figure or a lone surrogate in a log line poisoned
    # the batch: the job "exited with code 1", its results and its reason lost.
    body = """
    await self.log("busy")
    await self.log("busier")
    yield {"ok": 1}
    await self.progress(decimal.Decimal("1.5"), float("inf"))
    await self.log("file caf\\udce9.txt")
    yield {"ok": 2}
    """
    job, results = run_job(daemon, "progress-logs", body)
    assert job["status"] == "completed", job
    assert results == [{"ok": 1}, {"ok": 2}]
    assert job["progress"] == {"done": 1.5, "total": None}
    messages = [entry["message"] for entry in daemon.logs(job["id"])]
    assert "file caf\\udce9.txt" in messages

    job, results = run_job(daemon, "progress-bad", 'yield {"ok": 1}\nawait self.progress("half")')
    assert job["status"] == "failed" and results == [{"ok": 1}], job
    assert job["error"] == "TypeError: progress: done must be a number, got 'half' (type str)"


@pytest.mark.live
def test_a_checkpoint_with_a_datetime_is_stored_as_json_and_read_back_at_resume(
    daemon: RunningDaemon,
) -> None:
    body = """
    saved = self.get_checkpoint("at")
    if saved is not None:
        yield {"resumed_with": saved, "tags": self.get_checkpoint("tags")}
        yield {"bad": Foo()}  # counted as result #2: each run counts from 1
        return
    yield {"first": 1}
    await self.save_checkpoint(at=datetime.datetime(2024, 5, 1, 12, 30), tags={"b", "a"})
    for _ in range(1200):  # at most 60 s: the test kills the daemon long before
        await asyncio.sleep(0.05)
    """
    write_module(daemon.modules_dir, "stamp", module_yielding(body))
    job_id = daemon.start_job("stamp")
    stored = {"at": "2024-05-01T12:30:00", "tags": ["a", "b"]}
    job = wait_for(
        lambda: (j := daemon.job(job_id))["checkpoint"] == stored and j, 20, what="the checkpoint"
    )
    child = job["pid"]
    daemon.kill()
    wait_for(lambda: not alive(child), 10, what="the orphaned job process to exit")
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "failed" and job["resumes"] == 1, job
    assert job["error"].startswith("result #2 is not JSON: field 'bad' holds"), job["error"]
    assert daemon.results(job_id) == [
        {"first": 1},
        {"resumed_with": "2024-05-01T12:30:00", "tags": ["a", "b"]},
    ]


@pytest.mark.live
def test_a_checkpoint_that_is_not_json_fails_the_job_naming_the_field(
    daemon: RunningDaemon,
) -> None:
    body = """
    yield {"ok": 1}
    await self.save_checkpoint(cursor=Foo())
    """
    job, results = run_job(daemon, "bad-checkpoint", body)
    assert job["status"] == "failed" and results == [{"ok": 1}], job
    assert job["error"].startswith(
        "the checkpoint is not JSON: field 'cursor' holds an object of type Foo"
    ), job["error"]
    assert job["checkpoint"] is None


# ---- in this process: the encoder's edges and the channel's last guard ---------------------


def test_plain_results_take_the_fast_path_unchanged() -> None:
    plain = {"i": 1, "f": 0.5, "s": "é日本", "b": True, "n": None, "l": [1, {"k": "v"}]}
    assert encode.result_json(plain, 1) == json.dumps(plain, ensure_ascii=False)
    assert encode.result_json([1, 2], 1) == '{"value": [1, 2]}'
    assert encode.result_json("text", 1) == '{"value": "text"}'


class Opaque:
    def __repr__(self) -> str:
        return "Opaque(secret=...)"


def test_the_converter_names_where_a_value_sits() -> None:
    cases: list[tuple[Any, str]] = [
        (
            {"a": [1, {"b": Opaque()}]},
            "field 'a[1].b' holds Opaque(secret=...) (type tests.test_result_types.Opaque)",
        ),
        ({"a": {frozenset(): 1}}, "field 'a' has a key frozenset() of type frozenset"),
        (Opaque(), "field 'value' holds Opaque(secret=...)"),
        ({"d": {"x": object()}}, "field 'd.x' holds an object of type object"),
    ]
    for value, expected in cases:
        with pytest.raises(encode.NotJSONError) as caught:
            encode.result_json(value, 7)
        assert str(caught.value).startswith(f"result #7 is not JSON: {expected}"), caught.value


def test_decimals_match_jsonable_encoder_and_non_finite_numbers_become_null() -> None:
    from decimal import Decimal

    values = [Decimal("1E+2"), Decimal("3.0"), Decimal("NaN"), Decimal("-Infinity"), -0.0]
    text = encode.to_json({"d": values, "f": [float("inf"), float("-inf")]}, "x")
    assert json.loads(text) == {"d": [100, 3.0, None, None, -0.0], "f": [None, None]}
    assert '"d": [100, 3.0,' in text
    assert encode.to_json({float("nan"): 1, True: 2}, "x") == '{"NaN": 1, "true": 2}'


def test_a_shared_value_is_not_a_cycle() -> None:
    shared = {"k": {1, 2}}
    assert json.loads(encode.to_json({"a": shared, "b": [shared, shared]}, "x")) == {
        "a": {"k": [1, 2]},
        "b": [{"k": [1, 2]}, {"k": [1, 2]}],
    }


def test_a_message_that_cannot_be_framed_costs_only_itself() -> None:
    read_fd, write_fd = os.pipe()
    try:
        channel = Channel(write_fd)
        for message in (
            [protocol.RESULT, 1.0, '{"ok": 1}'],
            [protocol.PROGRESS, object(), None],
            [protocol.LOG, 2.0, "INFO", "caf\udce9"],
            [protocol.RESULT, 3.0, '{"ok": 2}'],
        ):
            channel._pending.append(message)
        channel.flush()
        header = os.read(read_fd, protocol.HEADER.size)
        (length,) = protocol.HEADER.unpack(header)
        body = b""
        for _ in range(100):
            if len(body) >= length:
                break
            body += os.read(read_fd, length - len(body))
        frame = protocol.decode_frame(body)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert frame[0] == [protocol.RESULT, 1.0, '{"ok": 1}']
    assert frame[3] == [protocol.RESULT, 3.0, '{"ok": 2}']
    for dropped, kind in ((frame[1], "'p'"), (frame[2], "'l'")):
        assert dropped[0] == protocol.LOG and dropped[2] == "ERROR"
        assert f"could not send a {kind} message" in dropped[3]
