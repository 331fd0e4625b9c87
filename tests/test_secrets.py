"""Secret fields: sealed at rest, masked wherever shown, redacted from what modules print.

The unit tier pins `sweatpants/secrets.py` (the box, the mask, the redactor) and the
manifest's errors; the live tier runs a module with a secret input and a secret setting on
a real daemon and looks at every surface, the raw database and WAL bytes, the daemon's own
log, a `kill -9` and restart, and a module that prints its secrets.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from sweatpants.errors import ConfigError, InvalidInput
from sweatpants.jobs import protocol
from sweatpants.jobs.active import ActiveJob
from sweatpants.modules.manifest import Manifest
from sweatpants.secrets import (
    KEY_FILE_NAME,
    SECRET_MASK,
    Redactor,
    SecretBox,
    is_sealed,
    mask,
)
from tests.support.daemon import RunningDaemon, alive, wait_for
from tests.support.modules import write_module

# ----- unit tier: the box, the mask, the redactor, the manifest's errors -----------------


def test_the_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    box = SecretBox.open(tmp_path)
    key_file = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    sealed = box.seal({"token": "hunter22"}, {"token"})
    again = SecretBox.open(tmp_path)  # reads the same key
    assert again.unseal(sealed) == {"token": "hunter22"}
    key_file.chmod(0o644)  # copied with looser permissions: tightened when opened
    SecretBox.open(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_seal_replaces_secret_values_and_unseal_gives_them_back(tmp_path: Path) -> None:
    box = SecretBox.open(tmp_path)
    values = {"token": "hunter22", "pin": 1234, "name": "x", "empty": "", "none": None}
    sealed = box.seal(values, {"token", "pin", "empty", "none"})
    assert is_sealed(sealed["token"]) and is_sealed(sealed["pin"])
    assert sealed["name"] == "x" and sealed["empty"] == "" and sealed["none"] is None
    assert "hunter22" not in json.dumps(sealed)
    assert box.seal(sealed, {"token"})["token"] == sealed["token"]  # never sealed twice
    assert box.unseal(sealed) == values


def test_plain_values_from_before_sealing_pass_through_unseal(tmp_path: Path) -> None:
    box = SecretBox.open(tmp_path)
    assert box.unseal({"token": "plain old", "n": 3}) == {"token": "plain old", "n": 3}
    opened, secret = box.open_values({"token": "plain old", "n": 3}, frozenset({"token"}))
    assert opened == {"token": "plain old", "n": 3} and secret == ["plain old"]


def test_a_value_sealed_with_another_key_is_a_clear_error(tmp_path: Path) -> None:
    sealed = SecretBox.open(tmp_path / "a").seal({"token": "hunter22"}, {"token"})
    other = SecretBox.open(tmp_path / "b")
    with pytest.raises(ConfigError, match="sealed with another key"):
        other.unseal(sealed)
    with pytest.raises(InvalidInput) as raised:
        other.unseal(sealed, section="inputs")
    assert raised.value.field == "inputs.token"


def test_a_key_file_that_holds_no_key_says_how_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE_NAME).write_text("not a key")
    with pytest.raises(ConfigError, match="delete the file"):
        SecretBox.open(tmp_path)


def test_mask_hides_declared_and_sealed_values(tmp_path: Path) -> None:
    sealed = SecretBox.open(tmp_path).seal({"token": "hunter22"}, {"token"})
    assert mask(sealed, frozenset()) == {"token": SECRET_MASK}
    shown = mask({"token": "plain", "blank": "", "name": "x"}, {"token", "blank"})
    assert shown == {"token": SECRET_MASK, "blank": "", "name": "x"}


def test_the_redactor_replaces_secrets_of_four_characters_or_more() -> None:
    redact = Redactor.of(["hunter22", "abc", 48151623, {"nested": ["deep-secret"]}, True])
    assert redact is not None
    assert redact("login hunter22 / abc / 48151623 / deep-secret") == (
        f"login {SECRET_MASK} / abc / {SECRET_MASK} / {SECRET_MASK}"
    )
    assert Redactor.of(["abc", "", None, False]) is None  # nothing to redact: no cost


def test_a_secret_that_contains_another_is_replaced_whole() -> None:
    redact = Redactor.of(["pass", "password123"])
    assert redact is not None
    assert redact("password123 pass") == f"{SECRET_MASK} {SECRET_MASK}"


def test_a_frame_of_lines_is_redacted_at_once() -> None:
    values = [f"secret-{i:02d}" for i in range(30)]
    redact = Redactor.of(values)
    assert redact is not None
    assert redact.lines(["nothing here", "nor here"]) is None  # the common case: no copy
    lines = ["a secret-07 b", "clean", "secret-29\nsecret-00", ""]
    assert redact.lines(lines) == [
        f"a {SECRET_MASK} b",
        "clean",
        f"{SECRET_MASK}\n{SECRET_MASK}",
        "",
    ]


def test_a_secret_holding_the_joining_character_is_still_redacted_line_by_line() -> None:
    redact = Redactor.of(["ab\x00cd"])
    assert redact is not None
    assert redact.lines(["xab", "cdx", "ab\x00cd!"]) == ["xab", "cdx", f"{SECRET_MASK}!"]


def test_ingest_redacts_log_lines_errors_and_tracebacks_but_not_results() -> None:
    active = ActiveJob(id="j", module_id="m", started_at=0.0, next_seq=0)
    active.redact = Redactor.of(["hunter22"])
    active.output_write(
        [
            [protocol.LOG, 1.0, "info", "the token is hunter22"],
            [protocol.RESULT, 1.0, '{"echo": "hunter22"}'],
            [protocol.ERROR, "bad hunter22", 'File "x", line 1\nValueError: hunter22'],
        ]
    )
    assert active.error == f"bad {SECRET_MASK}"
    assert active.traceback is not None and "hunter22" not in active.traceback
    assert active.log_count == 2


def test_a_wrong_secret_value_is_not_repeated_in_the_error() -> None:
    manifest = Manifest.parse(
        {
            "id": "m",
            "name": "m",
            "version": "1",
            "inputs": [
                {"id": "pin", "type": "integer", "secret": True},
                {"id": "count", "type": "integer"},
            ],
        }
    )
    with pytest.raises(InvalidInput) as raised:
        manifest.coerce_inputs({"pin": "hunter22-not-a-number"})
    assert "hunter22" not in raised.value.detail and raised.value.field == "inputs.pin"
    assert "an integer" in raised.value.detail
    with pytest.raises(InvalidInput, match="not-a-number"):  # other fields still say what
        manifest.coerce_inputs({"count": "not-a-number"})
    assert manifest.secret_input_ids() == {"pin"} and manifest.secret_setting_ids() == set()


# ----- live tier: a real daemon and a module with secrets --------------------------------

VAULT = """
import asyncio
import hashlib
import logging
import os
import subprocess
from sweatpants import Module


def digest(value):
    return hashlib.sha256(str(value).encode()).hexdigest()


class Vault(Module):
    async def run(self, inputs, settings):
        start = self.get_checkpoint("next", 0)
        await self.log(f"starting at {start}")
        await self.log(f"token sha256 {digest(inputs['token'])}")
        await self.log(f"pin sha256 {digest(inputs['pin'])}")
        await self.log(f"api_key sha256 {digest(settings['api_key'])}")
        if inputs["leak"]:
            await self.log(f"the token is {inputs['token']}!")
            print("printed api key:", settings["api_key"])
            logging.getLogger("vault").warning("logged token %s", inputs["token"])
            os.write(2, f"raw stderr {settings['api_key']}\\n".encode())
            subprocess.run(["echo", f"subprocess says {inputs['token']}"], check=True)
            yield {"echo": inputs["token"]}
        for i in range(start, inputs["n"]):
            yield {"i": i}
            if (i + 1) % 5 == 0:
                await self.save_checkpoint(next=i + 1)
            await asyncio.sleep(inputs["delay"])
        if inputs["leak"]:
            raise RuntimeError(f"cannot log in with {inputs['token']}")
"""
VAULT_INPUTS: list[dict[str, Any]] = [
    {"id": "token", "type": "secret", "required": True},
    {"id": "pin", "type": "integer", "secret": True},
    {"id": "name", "type": "text", "default": "visible"},
    {"id": "leak", "type": "boolean", "default": False},
    {"id": "n", "type": "integer", "default": 5},
    {"id": "delay", "type": "number", "default": 0.0},
]
VAULT_SETTINGS: list[dict[str, Any]] = [
    {"id": "api_key", "type": "password"},
    {"id": "spare_key", "type": "secret", "default": "spare-key-default"},
]


class Secrets:
    """Fresh values for one test; `all` as bytes, to look for in raw files."""

    def __init__(self) -> None:
        self.token = f"tok-{secrets.token_hex(12)}"
        self.api_key = f"key-{secrets.token_hex(12)}"
        self.pin = 100_000_000 + secrets.randbelow(800_000_000)

    @property
    def all(self) -> list[bytes]:
        return [self.token.encode(), self.api_key.encode(), str(self.pin).encode()]

    def body(self, **inputs: Any) -> dict[str, Any]:
        return {
            "inputs": {"token": self.token, "pin": self.pin, **inputs},
            "settings": {"api_key": self.api_key},
        }


def sha(value: object) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def assert_no_secret(where: str, data: bytes | str, values: Secrets) -> None:
    raw = data.encode() if isinstance(data, str) else data
    found = [value for value in values.all if value in raw]
    assert not found, f"{where} holds a secret value"


def raw_store_files(daemon: RunningDaemon) -> dict[str, bytes]:
    files = {}
    for name in ("sweatpants.db", "sweatpants.db-wal"):
        path = daemon.data_dir / name
        if path.exists():
            files[name] = path.read_bytes()
    return files


def cli(daemon: RunningDaemon, *args: str) -> str:
    env = dict(daemon.env)
    done = subprocess.run(
        [sys.executable, "-m", "sweatpants", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=daemon.data_dir.parent,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


class EventLog:
    """Every message of `WS /events` while it is open, read on a thread of its own."""

    def __init__(self, daemon: RunningDaemon) -> None:
        self.messages: list[str] = []
        self._url = daemon.ws_url("/events")
        self._ws: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "WS /events did not say hello"

    def _read(self) -> None:
        with connect(self._url) as ws:
            self._ws = ws
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            self._ready.set()
            for _ in range(100_000):
                try:
                    self.messages.append(str(ws.recv(timeout=60)))
                except Exception:  # closed: the test is done with it
                    return

    def ended(self, job_id: str) -> bool:
        for text in list(self.messages):
            event = json.loads(text)
            if (
                event.get("type") == "job"
                and event["job"]["id"] == job_id
                and event["job"]["status"] in ("completed", "failed", "stopped")
            ):
                return True
        return False

    def close(self) -> None:
        self._ws.close()
        self._thread.join(10)


def write_vault(daemon: RunningDaemon) -> None:
    write_module(daemon.modules_dir, "vault", VAULT, inputs=VAULT_INPUTS, settings=VAULT_SETTINGS)


def hashes_logged(daemon: RunningDaemon, job_id: str) -> list[str]:
    return [e["message"] for e in daemon.logs(job_id) if " sha256 " in e["message"]]


@pytest.mark.live
def test_no_surface_shows_a_secret_and_the_module_receives_it(daemon: RunningDaemon) -> None:
    values = Secrets()
    write_vault(daemon)
    events = EventLog(daemon)
    try:
        job_id = daemon.start_job("vault", **values.body(n=20, delay=0.05))
        running = daemon.wait_job(job_id, statuses=["running", "completed"])
        assert_no_secret("GET /status", daemon.client().get("/status").content, values)
        assert_no_secret(
            "raw store while running", b"".join(raw_store_files(daemon).values()), values
        )
        job = daemon.wait_job(job_id)
        wait_for(lambda: events.ended(job_id), 10, what="the job's end on WS /events")
    finally:
        events.close()
    assert job["status"] == "completed", job
    assert job["inputs"]["token"] == SECRET_MASK and job["inputs"]["pin"] == SECRET_MASK
    assert job["settings"]["api_key"] == SECRET_MASK and job["inputs"]["name"] == "visible"
    assert running["inputs"]["token"] == SECRET_MASK
    client = daemon.client()
    assert_no_secret("GET /jobs/{id}", client.get(f"/jobs/{job_id}").content, values)
    assert_no_secret("GET /jobs", client.get("/jobs").content, values)
    assert_no_secret("GET /jobs/{id}/logs", client.get(f"/jobs/{job_id}/logs").content, values)
    assert_no_secret("WS /events", "\n".join(events.messages), values)
    listed = json.loads(cli(daemon, "jobs", "--json"))
    assert listed["jobs"][0]["inputs"]["token"] == SECRET_MASK
    for args in (["jobs", "--json"], ["jobs"], ["logs", job_id], ["logs", job_id, "--json"]):
        assert_no_secret(f"sweatpants {' '.join(args)}", cli(daemon, *args), values)
    # The module got the real values: it logged their hashes.
    assert hashes_logged(daemon, job_id) == [
        f"token sha256 {sha(values.token)}",
        f"pin sha256 {sha(values.pin)}",
        f"api_key sha256 {sha(values.api_key)}",
    ]
    key_file = daemon.data_dir / KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    for name, data in raw_store_files(daemon).items():
        assert_no_secret(name, data, values)
    daemon.stop()
    for name, data in raw_store_files(daemon).items():
        assert_no_secret(f"{name} after stop", data, values)
    assert_no_secret("the daemon's log", daemon.log_path.read_bytes(), values)
    with sqlite3.connect(daemon.data_dir / "sweatpants.db") as conn:
        stored = json.loads(
            conn.execute("SELECT inputs FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
        )
    assert is_sealed(stored["token"]) and is_sealed(stored["pin"]) and stored["name"] == "visible"


@pytest.mark.live
def test_an_error_about_a_secret_value_does_not_repeat_it(daemon: RunningDaemon) -> None:
    values = Secrets()
    write_vault(daemon)
    body = values.body()
    body["inputs"]["pin"] = f"not a number {values.token}"
    answer = daemon.client().post("/jobs", json={"module_id": "vault", **body})
    assert answer.status_code == 422 and answer.json()["field"] == "inputs.pin"
    assert_no_secret("the 422", answer.content, values)
    forged = {"module_id": "vault", **values.body()}
    forged["inputs"]["token"] = {"$sealed": "gAAAAA-not-a-token"}
    answer = daemon.client().post("/jobs", json=forged)
    assert answer.status_code == 422 and answer.json()["field"] == "inputs.token"
    assert_no_secret("the daemon's log", daemon.log_path.read_bytes(), values)


@pytest.mark.live
def test_a_job_resumed_after_kill_9_still_gets_its_secrets(daemon: RunningDaemon) -> None:
    values = Secrets()
    write_vault(daemon)
    job_id = daemon.start_job("vault", **values.body(n=60, delay=0.05))

    def past_a_checkpoint() -> dict[str, Any] | None:
        job = daemon.job(job_id)
        checkpoint = job["checkpoint"] or {}
        return job if job["result_count"] > checkpoint.get("next", 0) >= 10 else None

    job = wait_for(past_a_checkpoint, 20, what="a checkpoint with results after it")
    daemon.kill()
    wait_for(lambda: not alive(job["pid"]), 10, what="the orphaned job process to exit")
    daemon.restart()
    job = daemon.wait_job(job_id, timeout=30)
    assert job["status"] == "completed" and job["resumes"] == 1, job
    messages = [e["message"] for e in daemon.logs(job_id)]
    assert any(m.startswith("starting at ") and m != "starting at 0" for m in messages)
    expected = [
        f"token sha256 {sha(values.token)}",
        f"pin sha256 {sha(values.pin)}",
        f"api_key sha256 {sha(values.api_key)}",
    ]
    assert hashes_logged(daemon, job_id) == expected * 2  # the first run, then the resumed one
    assert job["inputs"]["token"] == SECRET_MASK
    daemon.stop()
    for name, data in raw_store_files(daemon).items():
        assert_no_secret(name, data, values)
    assert_no_secret("the daemon's log", daemon.log_path.read_bytes(), values)


@pytest.mark.live
def test_what_a_module_prints_has_its_secrets_redacted(daemon: RunningDaemon) -> None:
    values = Secrets()
    write_vault(daemon)
    job_id = daemon.start_job("vault", **values.body(leak=True, n=2))
    job = daemon.wait_job(job_id)
    assert job["status"] == "failed"
    assert job["error"] == f"RuntimeError: cannot log in with {SECRET_MASK}", job["error"]
    assert "cannot log in with" in job["traceback"]
    assert_no_secret("the job's error and traceback", json.dumps(job), values)
    messages = [e["message"] for e in daemon.logs(job_id)]
    assert f"the token is {SECRET_MASK}!" in messages
    assert f"printed api key: {SECRET_MASK}" in messages
    assert f"vault: logged token {SECRET_MASK}" in messages
    # Written to file descriptors 1 and 2 (os.write, a subprocess): log lines too, redacted.
    assert f"raw stderr {SECRET_MASK}" in messages
    assert f"subprocess says {SECRET_MASK}" in messages
    assert_no_secret("REST logs", json.dumps(messages), values)
    with connect(daemon.ws_url(f"/jobs/{job_id}/logs/stream")) as ws:
        streamed = [ws.recv(timeout=30) for _ in range(len(messages) + 1)]
    assert f"the token is {SECRET_MASK}!" in "\n".join(map(str, streamed))
    assert_no_secret("the WS log stream", "\n".join(map(str, streamed)), values)
    assert_no_secret("sweatpants logs", cli(daemon, "logs", job_id, "--json"), values)
    assert_no_secret("the daemon's log", daemon.log_path.read_bytes(), values)
    # Results are the module's data: stored as yielded, the secret too if it yields one.
    exported = daemon.client().get(f"/jobs/{job_id}/results/export", params={"format": "ndjson"})
    assert json.loads(exported.text.splitlines()[0]) == {"echo": values.token}


@pytest.mark.live
def test_jobs_stored_before_sealing_still_run_with_their_plain_values(
    daemon: RunningDaemon,
) -> None:
    values = Secrets()
    write_vault(daemon)
    first = daemon.start_job("vault", **values.body())
    daemon.wait_job(first)
    daemon.stop()
    # A row as an earlier version wrote it: the secret values in clear, the job pending.
    database = daemon.data_dir / "sweatpants.db"
    with sqlite3.connect(database) as conn:
        conn.execute(
            "UPDATE jobs SET status = 'pending', inputs = ?, settings = ?, result_count = 0,"
            " log_count = 0, completed_at = NULL WHERE id = ?",
            (
                json.dumps({"token": values.token, "pin": values.pin, "leak": True, "n": 1}),
                json.dumps({"api_key": values.api_key}),
                first,
            ),
        )
        conn.execute("DELETE FROM logs WHERE job_id = ?", (first,))
        conn.execute("DELETE FROM results WHERE job_id = ?", (first,))
    os.sync()
    daemon.restart()
    job = daemon.wait_job(first)
    assert job["status"] == "failed" and job["error"].endswith(SECRET_MASK)
    assert job["inputs"]["token"] == SECRET_MASK and job["settings"]["api_key"] == SECRET_MASK
    messages = [e["message"] for e in daemon.logs(first)]
    assert f"token sha256 {sha(values.token)}" in messages
    assert f"the token is {SECRET_MASK}!" in messages


@pytest.mark.live
@pytest.mark.browser
def test_the_run_form_takes_secrets_in_password_fields_never_filled_back_in(
    daemon: RunningDaemon,
) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import ConsoleWatch, launch_chromium

    values = Secrets()
    write_vault(daemon)
    answers: list[tuple[str, str]] = []  # (url, body) of every fetch the page made

    def keep(response: Any) -> None:
        if response.request.resource_type == "fetch":
            answers.append((response.url, response.body().decode(errors="replace")))

    with launch_chromium() as browser:
        context = browser.new_context()
        context.set_default_timeout(20_000)
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.on("response", keep)
        page.goto(f"{daemon.url}/#/run/vault")
        form = page.locator("#run-form")
        token = form.locator('[data-field="inputs.token"] input')
        pin = form.locator('[data-field="inputs.pin"] input')
        api_key = form.locator('[data-field="settings.api_key"] input')
        spare = form.locator('[data-field="settings.spare_key"] input')  # has a default
        for field in (token, pin, api_key, spare):
            expect(field).to_have_attribute("type", "password")
            expect(field).to_have_value("")
        token.fill(values.token)
        pin.fill(str(values.pin))
        api_key.fill(values.api_key)
        preview = page.get_by_label("Equivalent API request").inner_text()
        assert '"token": "********"' in preview and '"api_key": "********"' in preview
        assert_no_secret("the API preview", preview, values)
        page.get_by_role("button", name="Start job").click()
        page.wait_for_url("**/#/jobs/*")
        job_id = page.url.rsplit("/", 1)[1]
        assert daemon.wait_job(job_id)["status"] == "completed"
        assert hashes_logged(daemon, job_id) == [
            f"token sha256 {sha(values.token)}",
            f"pin sha256 {sha(values.pin)}",
            f"api_key sha256 {sha(values.api_key)}",
        ]
        expect(page.locator("body")).to_contain_text(SECRET_MASK)
        assert_no_secret("the job page", page.content(), values)
        # Even a prefill that holds the values does not fill a secret field.
        prefill = {"inputs": {"token": values.token, "name": "again"}, "settings": {}}
        page.evaluate(
            "v => sessionStorage.setItem('sweatpants.prefill', JSON.stringify(v))",
            {"moduleId": "vault", "values": prefill},
        )
        page.goto(f"{daemon.url}/#/run/vault")
        expect(form.locator('[data-field="inputs.name"] input')).to_have_value("again")
        expect(token).to_have_value("")
        assert watch.unexpected() == []
        context.close()
    assert answers, "the page made no requests"
    for url, body in answers:
        assert_no_secret(f"the answer of {url}", body, values)


@pytest.mark.live
def test_a_replaced_key_file_fails_the_job_saying_so(daemon: RunningDaemon) -> None:
    values = Secrets()
    write_vault(daemon)
    first = daemon.start_job("vault", **values.body())
    daemon.wait_job(first)
    # A value sealed by this daemon may be sent back as it is stored: it is opened first.
    with sqlite3.connect(daemon.data_dir / "sweatpants.db") as conn:
        stored = json.loads(
            conn.execute("SELECT inputs FROM jobs WHERE id = ?", (first,)).fetchone()[0]
        )
    again = daemon.start_job(
        "vault", inputs={"token": stored["token"], "pin": 1}, settings={"api_key": "k-1234"}
    )
    assert daemon.wait_job(again)["status"] == "completed"
    assert f"token sha256 {sha(values.token)}" in hashes_logged(daemon, again)
    daemon.stop()
    with sqlite3.connect(daemon.data_dir / "sweatpants.db") as conn:
        conn.execute(
            "UPDATE jobs SET status = 'pending', completed_at = NULL WHERE id = ?", (first,)
        )
    (daemon.data_dir / KEY_FILE_NAME).unlink()  # a new key is made at the next start
    daemon.restart()
    job = daemon.wait_job(first)
    assert job["status"] == "failed", job
    assert "sealed with another key" in job["error"] and KEY_FILE_NAME in job["error"]
    messages = [e["message"] for e in daemon.logs(first)]
    assert any("could not start the job" in m and "another key" in m for m in messages)
