"""Schedules against a real daemon: runs every few seconds, pause/resume/delete, overlap,
missed slots across a SIGTERM restart and a SIGSTOP freeze, the DST preview, bad input.

Intervals are seconds long (`every: 1s` to `3s`); every wait is for a condition, bounded.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.daemon import RunningDaemon, start_daemon, wait_for
from tests.support.modules import write_module

pytestmark = pytest.mark.live

NOOP = """
from sweatpants import Module


class Noop(Module):
    async def run(self, inputs, settings):
        yield {"n": inputs.get("n")}
"""

NAPS = """
import asyncio

from sweatpants import Module


class Naps(Module):
    async def run(self, inputs, settings):
        for _ in range(int(inputs["seconds"] * 20)):
            if self.is_cancelled:
                break
            await asyncio.sleep(0.05)
        yield {"slept": inputs["seconds"]}
"""


def install_modules(modules_dir: Path) -> None:
    write_module(
        modules_dir,
        "noop",
        NOOP,
        inputs=[{"id": "n", "type": "integer", "default": 1}],
    )
    write_module(
        modules_dir,
        "naps",
        NAPS,
        inputs=[{"id": "seconds", "type": "number", "required": True}],
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    data: Path = tmp_path_factory.mktemp("schedules") / "data"
    install_modules(data / "modules")
    running = start_daemon(data)
    yield running
    running.stop()


def create(client: httpx.Client, **body: Any) -> dict[str, Any]:
    answer = client.post("/schedules", json=body)
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


def jobs_of(client: httpx.Client, schedule_id: str) -> list[dict[str, Any]]:
    """The schedule's jobs, oldest first."""
    answer = client.get("/jobs", params={"schedule_id": schedule_id, "limit": 1000})
    assert answer.status_code == 200, answer.text
    return list(reversed(answer.json()["jobs"]))


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def wait_until(moment: float, what: str) -> None:
    """Until the wall clock reaches `moment` (a slot to pass), bounded."""
    wait_for(lambda: time.time() >= moment, moment - time.time() + 30, what=what)


def test_every_2s_runs_pause_resume_and_delete(daemon: RunningDaemon) -> None:
    client = daemon.client()
    made = create(client, module_id="noop", every="2s", inputs={"n": 7}, name="tick")
    sid = made["id"]
    assert made["next_run_at"] is not None and made["name"] == "tick"
    assert made["overlap"] == "skip" and made["misfire"] == "coalesce"
    runs = wait_for(
        lambda: len(jobs_of(client, sid)) >= 2 and jobs_of(client, sid), 30, what="2 runs"
    )
    assert {j["trigger"] for j in runs} == {"schedule"}
    assert all(j["schedule_id"] == sid and j["inputs"] == {"n": 7} for j in runs)
    shown = client.get(f"/schedules/{sid}").json()
    assert shown["last_job_id"] in [j["id"] for j in jobs_of(client, sid)]
    assert shown["last_status"] in ("pending", "running", "completed")

    paused = client.post(f"/schedules/{sid}/pause").json()
    assert paused["enabled"] is False and paused["next_run_at"] is None
    count = len(jobs_of(client, sid))
    wait_until(time.time() + 5, "two slots to pass while paused")
    assert len(jobs_of(client, sid)) == count

    resumed = client.post(f"/schedules/{sid}/resume").json()
    assert resumed["enabled"] is True and at(resumed["next_run_at"]) > time.time() - 1
    wait_for(lambda: len(jobs_of(client, sid)) > count, 30, what="a run after resume")

    assert client.delete(f"/schedules/{sid}").json() == {"id": sid, "deleted": True}
    assert client.get(f"/schedules/{sid}").status_code == 404
    left = jobs_of(client, sid)
    assert len(left) > count  # the past jobs stay, still naming the schedule
    for job in left:
        daemon.wait_job(job["id"], timeout=30)
    assert len(jobs_of(client, sid)) == len(left)  # and nothing fires any more


@pytest.mark.parametrize("overlap", ["skip", "queue"])
def test_a_run_longer_than_the_interval_never_overlaps(daemon: RunningDaemon, overlap: str) -> None:
    client = daemon.client()
    sid = create(client, module_id="naps", every="1s", inputs={"seconds": 2.5}, overlap=overlap)[
        "id"
    ]

    def two_done() -> list[dict[str, Any]] | None:
        runs = jobs_of(client, sid)
        done = [j for j in runs if j["status"] == "completed"]
        return runs if len(done) >= 2 else None

    wait_for(two_done, 60, what="two runs to complete")
    client.post(f"/schedules/{sid}/pause")
    runs = jobs_of(client, sid)
    for job in runs:
        daemon.wait_job(job["id"], timeout=30)
    runs = [j for j in jobs_of(client, sid) if j["started_at"]]
    spans = sorted((at(j["started_at"]), at(j["completed_at"])) for j in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end - 0.01, spans  # never two running at once
    shown = client.get(f"/schedules/{sid}").json()
    if overlap == "skip":
        assert shown["skipped"] >= 2 and shown["last_skipped_at"] is not None
    else:
        assert shown["skipped"] == 0 and shown["queued"] is False  # pause drops a queued run
    client.delete(f"/schedules/{sid}")


def test_run_now_preview_and_patch(daemon: RunningDaemon) -> None:
    client = daemon.client()
    made = create(client, module_id="noop", cron="30 2 * * *", timezone="Europe/Berlin")
    sid = made["id"]
    preview = client.get(
        f"/schedules/{sid}/preview", params={"count": 250, "from": "2027-03-27T00:00:00"}
    )
    assert preview.status_code == 200, preview.text
    local = [t["local"] for t in preview.json()["times"] if t["local"] < "2027-11-01"]
    days = [t[:10] for t in local]
    assert len(days) == len(set(days)) == 219  # one per day, 2027-03-27 .. 2027-10-31
    assert "2027-03-28T03:00:00+02:00" in local  # 02:30 does not exist: 03:00
    assert [t for t in local if t.startswith("2027-10-31")] == ["2027-10-31T02:30:00+02:00"]
    assert preview.json()["timezone"] == "Europe/Berlin"

    started = client.post(f"/schedules/{sid}/run").json()
    job = daemon.wait_job(started["id"], timeout=30)
    assert job["trigger"] == "manual" and job["schedule_id"] == sid
    shown = client.get(f"/schedules/{sid}").json()
    assert shown["last_job_id"] == job["id"] and shown["last_status"] == "completed"
    assert shown["next_run_at"] == made["next_run_at"]  # a run by hand leaves the plan

    changed = client.patch(f"/schedules/{sid}", json={"every": "1h", "retries": 2})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["cron"] is None and body["every"] == "1h" and body["retries"] == 2
    bad = client.patch(f"/schedules/{sid}", json={"timezone": "Nowhere/Land"})
    assert bad.status_code == 422 and bad.json()["field"] == "timezone"
    assert client.get(f"/schedules/{sid}").json()["timezone"] == "Europe/Berlin"
    assert client.get(f"/schedules/{sid[:8]}").json()["id"] == sid  # an 8-character prefix
    assert client.get(f"/schedules/{sid[:7]}").status_code == 404  # shorter: not an id
    assert client.delete(f"/schedules/{sid[:8]}").json() == {"id": sid, "deleted": True}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"module_id": "missing", "every": "1m"}, "module_id"),
        ({"module_id": "noop", "cron": "0 25 * * *"}, "cron"),
        ({"module_id": "noop", "cron": "0 6 * * *", "timezone": "Europe/Atlantis"}, "timezone"),
        ({"module_id": "noop", "every": "0s"}, "every"),
        ({"module_id": "noop", "every": "1m", "retries": -1}, "retries"),
        ({"module_id": "noop", "every": "1m", "inputs": {"n": "many"}}, "inputs.n"),
        ({"module_id": "noop"}, "cron"),
        ({"module_id": "noop", "every": "1m", "cron": "* * * * *"}, "cron"),
        ({"module_id": "noop", "every": "1m", "overlap": "sometimes"}, "overlap"),
        ({"module_id": "noop", "every": "1m", "misfire_grace": "a while"}, "misfire_grace"),
        ({"module_id": "noop", "every": "1m", "colour": "red"}, "colour"),
    ],
)
def test_bad_schedules_are_422_naming_the_field_and_nothing_is_stored(
    daemon: RunningDaemon, body: dict[str, Any], field: str
) -> None:
    client = daemon.client()
    before = client.get("/schedules").json()
    answer = client.post("/schedules", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.json()
    assert client.get("/schedules").json() == before


def post_restart_jobs(client: httpx.Client, sid: str, since: float) -> list[dict[str, Any]]:
    return [j for j in jobs_of(client, sid) if at(j["created_at"]) >= since]


def on_grid(job: dict[str, Any], anchor: float, every: float) -> float:
    """How long after its slot the job was made (slots: anchor + k * every)."""
    made = at(job["created_at"])
    return (made - anchor) % every


def check_missed_slots(
    client: httpx.Client, coalesce: dict[str, Any], skip: dict[str, Any], back: float, how: str
) -> None:
    """After the daemon came `back`: exactly one catch_up run for `coalesce`, then slots as
    usual; none for `skip` until its next slot."""

    def settled() -> bool:
        return len(post_restart_jobs(client, coalesce["id"], back)) >= 2 and (
            len(post_restart_jobs(client, skip["id"], back)) >= 1
        )

    wait_for(settled, 60, what="runs after the daemon came back")
    caught = post_restart_jobs(client, coalesce["id"], back)
    made = [(j["trigger"], round(at(j["created_at"]) - back, 2)) for j in caught]
    assert caught[0]["trigger"] == "catch_up", (how, made)
    assert [j["trigger"] for j in caught[1:]] == ["schedule"] * (len(caught) - 1), (how, made)
    assert [j["trigger"] for j in jobs_of(client, coalesce["id"])].count("catch_up") == 1
    skipped = post_restart_jobs(client, skip["id"], back)
    assert {j["trigger"] for j in skipped} == {"schedule"}, skipped
    anchor = at(skip["created_at"])
    assert on_grid(skipped[0], anchor, 3.0) < 2.0  # its own slot, not a catch-up at wake-up


@pytest.mark.slow
def test_missed_slots_across_a_restart_and_a_freeze(tmp_path: Path) -> None:
    """Each of SIGTERM (daemon down) and SIGSTOP (daemon frozen) across three slots of
    `every: 3s`: a `coalesce` schedule runs exactly one `catch_up`, a `skip` schedule none."""
    data = tmp_path / "data"
    install_modules(data / "modules")
    daemon = start_daemon(data)
    try:
        client = daemon.client()
        common = {"module_id": "noop", "every": "3s", "misfire_grace": "2s"}
        coalesce = create(client, **common, misfire="coalesce")
        skip = create(client, **common, misfire="skip")
        wait_for(lambda: jobs_of(client, skip["id"]), 30, what="a first run")

        assert daemon.stop() in (0, -15)
        down = time.time()
        wait_until(down + 10, "three slots to pass while the daemon is down")
        daemon.start()
        check_missed_slots(daemon.client(), coalesce, skip, down, "restart")

        client = daemon.client()
        for schedule in (coalesce, skip):  # forget the restart's runs: count the freeze's
            client.delete(f"/schedules/{schedule['id']}")
        coalesce = create(client, **common, misfire="coalesce")
        skip = create(client, **common, misfire="skip")
        wait_for(lambda: jobs_of(client, skip["id"]), 30, what="a first run")
        frozen = time.time()
        os.kill(daemon.pid, signal.SIGSTOP)
        try:
            wait_until(frozen + 10, "three slots to pass while the daemon is frozen")
        finally:
            os.kill(daemon.pid, signal.SIGCONT)
        check_missed_slots(client, coalesce, skip, frozen + 0.5, "freeze")
        assert "passed that this process did not see" not in daemon.log()  # a freeze: no jump
    finally:
        daemon.stop()


def cli(daemon: RunningDaemon, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (a subprocess), against the module's daemon."""
    env = dict(daemon.env)
    env.pop("NO_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "sweatpants", "--url", daemon.url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=daemon.data_dir.parent,
    )


def test_the_schedule_commands(daemon: RunningDaemon) -> None:
    added = cli(
        daemon,
        *["schedule", "add", "noop", "--cron", "0 6 * * *", "--tz", "Europe/Berlin"],
        *["-i", "n=3", "--retries", "2", "--name", "morning", "--json"],
    )
    assert added.returncode == 0, added.stderr
    made = json.loads(added.stdout)
    assert made["cron"] == "0 6 * * *" and made["inputs"] == {"n": 3} and made["retries"] == 2
    sid = made["id"]
    listed = cli(daemon, "schedule", "list")
    assert listed.returncode == 0 and sid in listed.stdout and "morning" in listed.stdout
    shown = cli(daemon, "schedule", "show", sid)
    assert "cron 0 6 * * * (Europe/Berlin)" in shown.stdout, shown.stdout
    preview = cli(daemon, "schedule", "preview", sid, "-n", "2", "--from", "2027-03-27")
    assert preview.stdout.split() == ["2027-03-27T06:00:00+01:00", "2027-03-28T06:00:00+02:00"]
    paused = cli(daemon, "schedule", "pause", sid[:8])  # a prefix names it, as for jobs
    assert paused.returncode == 0 and f"Paused schedule {sid}" in paused.stdout
    resumed = cli(daemon, "schedule", "resume", sid[:8])
    assert resumed.returncode == 0 and "next run" in resumed.stdout
    ran = cli(daemon, "schedule", "run", sid, "--json")
    job = daemon.wait_job(json.loads(ran.stdout)["id"], timeout=30)
    assert job["schedule_id"] == sid and job["max_attempts"] == 3
    removed = cli(daemon, "schedule", "rm", sid[:8])
    assert removed.returncode == 0 and f"Removed schedule {sid}" in removed.stdout
    missing = cli(daemon, "schedule", "show", sid)
    assert missing.returncode == 1 and missing.stderr.startswith("error: no schedule")
    bad = cli(daemon, "schedule", "add", "noop", "--every", "0s")
    assert bad.returncode == 1 and "error: every '0s'" in bad.stderr, bad.stderr
    both = cli(daemon, "schedule", "add", "noop", "--every", "1m", "--cron", "* * * * *")
    assert both.returncode == 2  # argparse: one or the other
    run = cli(daemon, "run", "noop", "--retries", "1", "--retry-delay", "5s", "--json")
    assert run.returncode == 0, run.stderr
    assert daemon.job(json.loads(run.stdout)["id"])["max_attempts"] == 2


def test_events_and_status_tell_about_schedules(daemon: RunningDaemon) -> None:
    client = daemon.client()
    with connect(daemon.ws_url("/events")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        made = create(client, module_id="noop", every="1h", name="hourly", inputs={"n": 4})
        sid = made["id"]

        def next_event(kind: str) -> dict[str, Any]:
            for _ in range(1000):
                event: dict[str, Any] = json.loads(ws.recv(timeout=30))
                if event.get("type") == kind:
                    return event
            raise AssertionError(f"no {kind} event")

        assert next_event("schedule")["schedule"]["id"] == sid
        upcoming = wait_for(
            lambda: client.get("/status").json()["schedules"]["next"], 10, what="schedules.next"
        )
        assert upcoming["at"] <= made["next_run_at"]

        # PATCH: inputs change key by key, null removes one (the manifest default comes back).
        changed = client.patch(f"/schedules/{sid}", json={"inputs": {"n": None}}).json()
        assert changed["inputs"] == {"n": 1} and changed["name"] == "hourly"
        assert next_event("schedule")["schedule"]["inputs"] == {"n": 1}
        client.delete(f"/schedules/{sid}")
        assert next_event("schedule_deleted")["id"] == sid
