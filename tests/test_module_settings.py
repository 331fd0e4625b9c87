"""Settings stored once per module (`GET`/`PUT /modules/{id}/settings`), merged into its jobs,
and `POST /jobs/{id}/rerun`, which copies a job's secrets inside the daemon.

The live tests run a real daemon with a real module that logs the settings it received (and,
for secrets, only their sha256), and read the raw database files to show secrets are sealed.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sweatpants.api import schemas
from sweatpants.errors import InvalidInput
from sweatpants.modules.manifest import Manifest
from sweatpants.modules.stored_settings import plan_change
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

TOKEN = "tok-3f9a1c7e-stored-secret"
OTHER_TOKEN = "tok-other-b81d-own-secret"
KEY = "key-5e2d90aa-secret-input"

SHOW = """
import hashlib
import json
from sweatpants import Module


def digest(value):
    return hashlib.sha256(value.encode()).hexdigest() if value else "none"


class Show(Module):
    async def run(self, inputs, settings):
        plain = {k: v for k, v in settings.items() if k != "token"}
        await self.log("settings " + json.dumps(plain, sort_keys=True))
        await self.log("token sha256 " + digest(settings.get("token")))
        await self.log("key sha256 " + digest(inputs.get("key")))
        await self.log("q " + str(inputs.get("q")))
        yield {"ok": True}
"""
SETTINGS: list[dict[str, Any]] = [
    {"id": "delay", "type": "integer", "default": 1, "description": "Seconds between pages."},
    {"id": "user_agent", "type": "text"},
    {"id": "verbose", "type": "boolean"},
    {"id": "token", "type": "secret", "required": True, "description": "The API token."},
]
INPUTS: list[dict[str, Any]] = [
    {"id": "key", "type": "text", "secret": True},
    {"id": "q", "type": "text"},
]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def install_show(daemon: RunningDaemon, tmp_path: Path) -> None:
    folder = write_module(tmp_path / "src", "show", SHOW, inputs=INPUTS, settings=SETTINGS)
    answer = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert answer.status_code == 200, answer.text


def put(daemon: RunningDaemon, body: Any, module_id: str = "show") -> httpx.Response:
    """A PUT whose body is `body` as JSON, whatever it is (`None` too: the text `null`)."""
    return daemon.client().put(
        f"/modules/{module_id}/settings",
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )


def stored(daemon: RunningDaemon) -> dict[str, Any]:
    answer = daemon.client().get("/modules/show/settings")
    assert answer.status_code == 200, answer.text
    assert answer.json()["module_id"] == "show"
    settings: dict[str, Any] = answer.json()["settings"]
    return settings


def ran(daemon: RunningDaemon, job_id: str) -> dict[str, str]:
    """What the module logged, by the line's first word(s): settings, token, key, q."""
    job = daemon.wait_job(job_id)
    assert job["status"] == "completed", job
    said: dict[str, str] = {}
    for entry in daemon.logs(job_id):
        head, _, rest = entry["message"].partition(" ")
        if head in {"token", "key"}:
            rest = rest.removeprefix("sha256 ")
        said[head] = rest
    return said


def raw_storage(daemon: RunningDaemon) -> bytes:
    """Every byte of the database, its WAL and the daemon's log."""
    files = [*sorted(daemon.data_dir.glob("sweatpants.db*")), daemon.log_path]
    assert any(f.name == "sweatpants.db" for f in files)
    return b"".join(f.read_bytes() for f in files if f.is_file())


# ----- the checks, in-process


def manifest() -> Manifest:
    return Manifest.parse({"id": "show", "name": "Show", "version": "1", "settings": SETTINGS})


def test_a_body_is_checked_against_the_declared_settings() -> None:
    change = plan_change(manifest(), {"delay": "3", "verbose": "yes", "user_agent": None}, set())
    assert change.put == {"delay": 3, "verbose": True} and change.remove == {"user_agent"}
    # the mask for a secret keeps what is stored; an empty non-text value removes the key
    change = plan_change(manifest(), {"token": "********", "delay": ""}, {"token"})
    assert change.put == {} and change.remove == {"delay"}
    # a key no longer declared may be removed, never set
    assert plan_change(manifest(), {"old": None}, {"old"}).remove == {"old"}
    for body, field in [
        ({"old": 1}, "settings.old"),
        ({"nope": None}, "settings.nope"),
        ({"delay": "soon"}, "settings.delay"),
        ({"token": {"$sealed": "forged"}}, "settings.token"),
        ([1, 2], "body"),
        ("delay=2", "body"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            plan_change(manifest(), body, {"old"})
        assert caught.value.field == field, body


def test_a_wrong_secret_is_refused_without_repeating_it() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_change(manifest(), {"token": ["my-real-secret"]}, set())
    assert caught.value.field == "settings.token"
    assert "my-real-secret" not in caught.value.detail


# ----- a real daemon


@pytest.mark.live
def test_settings_round_trip_masked_and_sealed_and_jobs_start_from_them(
    daemon: RunningDaemon, tmp_path: Path
) -> None:
    install_show(daemon, tmp_path)
    assert stored(daemon) == {}
    # `token` is required: without a stored one, a job must give it
    refused = daemon.client().post("/jobs", json={"module_id": "show"})
    assert refused.status_code == 422 and refused.json()["field"] == "settings.token"

    answer = put(daemon, {"delay": "3", "verbose": "yes", "token": TOKEN})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "module_id": "show",
        "settings": {"delay": 3, "token": "********", "verbose": True},
    }
    assert schemas.ModuleSettings.model_validate(answer.json()).model_dump() == answer.json()
    assert stored(daemon) == {"delay": 3, "token": "********", "verbose": True}
    assert TOKEN.encode() not in raw_storage(daemon)

    # The mask sent back keeps the secret; null removes a key; keys not named stay.
    answer = put(daemon, {"token": "********", "delay": None, "user_agent": "ua/1"})
    assert answer.json()["settings"] == {"token": "********", "user_agent": "ua/1", "verbose": True}

    # A job starts from the stored settings (the required token included), its own on top.
    first = daemon.start_job("show", inputs={"key": KEY, "q": "one"})
    said = ran(daemon, first)
    assert json.loads(said["settings"]) == {"delay": 1, "user_agent": "ua/1", "verbose": True}
    assert said["token"] == sha(TOKEN) and said["key"] == sha(KEY)
    job = daemon.job(first)
    assert job["settings"]["token"] == "********" and job["inputs"]["key"] == "********"

    second = daemon.start_job(
        "show", settings={"verbose": False, "delay": 5, "token": OTHER_TOKEN, "user_agent": None}
    )
    said = ran(daemon, second)
    assert json.loads(said["settings"]) == {"delay": 5, "user_agent": "ua/1", "verbose": False}
    assert said["token"] == sha(OTHER_TOKEN)
    # the mask as a job's own secret setting means "the stored one"
    third = daemon.start_job("show", settings={"token": "********"})
    assert ran(daemon, third)["token"] == sha(TOKEN)

    for secret in (TOKEN, OTHER_TOKEN, KEY):
        assert secret.encode() not in raw_storage(daemon)
        assert secret not in daemon.client().get("/jobs").text


@pytest.mark.live
def test_wrong_settings_get_422_naming_the_field_and_change_nothing(
    daemon: RunningDaemon, tmp_path: Path
) -> None:
    install_show(daemon, tmp_path)
    assert put(daemon, {"delay": 2, "token": TOKEN}).status_code == 200
    before = stored(daemon)
    client = daemon.client()
    for body, field, words in [
        ({"nope": 1}, "settings.nope", "has no setting 'nope'"),
        ({"delay": 4, "nope": 1}, "settings.nope", "its settings are delay, user_agent"),
        ({"delay": "soon"}, "settings.delay", "expected an integer"),
        ({"verbose": "maybe", "delay": 9}, "settings.verbose", "expected true or false"),
        ({"token": {"not": "text"}}, "settings.token", "the value is secret"),
        ([1, 2], "body", "must be a JSON object"),
        ("delay", "body", "must be a JSON object"),
        (None, "body", "must be a JSON object"),
    ]:
        answer = put(daemon, body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field, (body, answer.text)
        assert words in answer.json()["detail"], (body, answer.text)
        assert stored(daemon) == before
    broken = client.put(
        "/modules/show/settings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422 and broken.json()["field"] == "body"
    as_form = client.put("/modules/show/settings", content=b"delay=3")
    assert as_form.status_code == 415
    for method in ("GET", "PUT"):
        missing = client.request(method, "/modules/no-such/settings", json={"delay": 1})
        assert missing.status_code == 404 and "no-such" in missing.json()["detail"]
        malformed = client.request(method, "/modules/Bad%20Id!/settings", json={"delay": 1})
        assert malformed.status_code == 422, malformed.text
    assert stored(daemon) == before


@pytest.mark.live
def test_rerun_copies_secrets_inside_the_daemon(daemon: RunningDaemon, tmp_path: Path) -> None:
    install_show(daemon, tmp_path)
    assert put(daemon, {"token": TOKEN}).status_code == 200
    client = daemon.client()
    first = daemon.start_job("show", inputs={"key": KEY, "q": "one"}, max_duration="2h")
    ran(daemon, first)
    # A new stored token afterwards: the rerun still has the original job's settings.
    assert put(daemon, {"token": OTHER_TOKEN}).status_code == 200

    answer = client.post(f"/jobs/{first[:8]}/rerun")  # a prefix names the job too
    assert answer.status_code == 200, answer.text
    assert schemas.JobSubmitted.model_validate(answer.json()).model_dump() == answer.json()
    assert answer.json()["status"] == "pending"
    again = answer.json()["id"]
    assert again != first
    said = ran(daemon, again)
    assert said["key"] == sha(KEY) and said["token"] == sha(TOKEN) and said["q"] == "one"
    job = client.get(f"/jobs/{again}")
    assert job.json()["max_duration"] == "2h" and job.json()["inputs"]["key"] == "********"
    for text in (answer.text, job.text):
        assert KEY not in text and TOKEN not in text

    # Overrides, key by key; the mask for a secret keeps the original's value.
    answer = client.post(
        f"/jobs/{first}/rerun",
        json={
            "inputs": {"q": "two", "key": "********"},
            "settings": {"delay": 7},
            "max_duration": None,
        },
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()["id"]
    said = ran(daemon, changed)
    assert said["q"] == "two" and said["key"] == sha(KEY) and said["token"] == sha(TOKEN)
    assert json.loads(said["settings"])["delay"] == 7
    assert daemon.job(changed)["max_duration"] is None

    own = client.post(f"/jobs/{first}/rerun", json={"settings": {"token": OTHER_TOKEN}})
    assert ran(daemon, own.json()["id"])["token"] == sha(OTHER_TOKEN)
    for secret in (TOKEN, OTHER_TOKEN, KEY):
        assert secret.encode() not in raw_storage(daemon)

    # Wrong requests: clear 4xx, and no job is made.
    count = len(client.get("/jobs").json()["jobs"])
    unknown = client.post("/jobs/00000000-0000-0000-0000-000000000000/rerun")
    assert unknown.status_code == 404
    typo = client.post(f"/jobs/{first}/rerun", json={"input": {"q": "x"}})
    assert typo.status_code == 422 and typo.json()["field"] == "input"
    bad = client.post(f"/jobs/{first}/rerun", json={"settings": {"delay": "soon"}})
    assert bad.status_code == 422 and bad.json()["field"] == "settings.delay"
    elsewhere = client.post(f"/jobs/{first}/rerun", json={"executor": "nowhere"})
    assert elsewhere.status_code == 422 and elsewhere.json()["field"] == "executor"
    assert daemon.job(again)["executor"] == "local"  # the original's, when none is given
    assert client.delete("/modules/show").status_code == 200
    gone = client.post(f"/jobs/{first}/rerun")
    assert gone.status_code == 409 and "no longer installed" in gone.json()["detail"]
    assert len(client.get("/jobs").json()["jobs"]) == count


@pytest.mark.live
def test_cli_module_settings_set_show_unset(daemon: RunningDaemon, tmp_path: Path) -> None:
    install_show(daemon, tmp_path)
    secret_file = tmp_path / "token.txt"
    secret_file.write_text(TOKEN)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**daemon.env, "NO_COLOR": "1"}
        return subprocess.run(
            [sys.executable, "-m", "sweatpants", "module", "settings", "show", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    shown = cli()
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("No settings stored for show.")
    done = cli("delay=4", "user_agent=my agent", f"token=@{secret_file}")
    assert done.returncode == 0, done.stderr
    assert "Updated the settings stored for show." in done.stderr
    rows = [line.split(None, 1) for line in done.stdout.strip().splitlines()]
    assert rows == [
        ["SETTING", "VALUE"],
        ["delay", "4"],
        ["token", "********"],
        ["user_agent", "my agent"],
    ]
    assert TOKEN not in done.stdout + done.stderr
    as_json = cli("--json")
    assert json.loads(as_json.stdout) == {
        "module_id": "show",
        "settings": {"delay": 4, "token": "********", "user_agent": "my agent"},
    }
    unset = cli("--unset", "delay", "--unset", "user_agent", "--json")
    assert json.loads(unset.stdout)["settings"] == {"token": "********"}
    assert stored(daemon) == {"token": "********"}
    assert ran(daemon, daemon.start_job("show"))["token"] == sha(TOKEN)

    wrong = cli("nope=1")
    assert wrong.returncode == 1 and wrong.stderr.startswith("error: settings.nope:")
    assert cli("--unset").returncode == 2  # --unset needs a KEY
    assert stored(daemon) == {"token": "********"}
