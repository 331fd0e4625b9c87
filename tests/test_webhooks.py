"""Webhooks, the durable delivery queue and `self.send_callback`, on real daemons with a real
HTTP receiver on 127.0.0.1 (tests/support/receiver.py).

Shown here: a receiver answering 500 twice then 200 gets the event exactly once more, signed
(both proofs, checked with the verifiers docs/api.md prints); a daemon killed with SIGKILL
between attempts sends the rest after its restart; a receiver that never answers holds up
neither `POST /jobs` nor `/status`; bad input is a 422 naming the field with nothing stored;
a module's `send_callback` arrives signed in the earlier engine's token format; the CLI.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sweatpants.tokens import verify_token
from tests.support.daemon import RunningDaemon, wait_for
from tests.support.modules import write_module
from tests.support.receiver import HANG, Receiver, receiver

pytestmark = [pytest.mark.live, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec-7d1f0c9a"
KEY = "key-29c4e1b7-never-sent"
QUICK = """
from sweatpants import Module


class Quick(Module):
    async def run(self, inputs, settings):
        await self.log("quick")
        yield {"n": 1}
"""
CALLBACK = """
from sweatpants import Module


class Reports(Module):
    async def run(self, inputs, settings):
        acked = await self.send_callback(
            inputs["url"], {"done": True, "count": 3}, secret=inputs["secret"], user_id=42,
            wait=60,
        )
        yield {"acked": acked}
"""
TEXT = [{"id": "url", "type": "text"}, {"id": "secret", "type": "text"}]


def docs_verifiers() -> dict[str, Any]:
    """The two five-line verifiers docs/api.md prints, run as written."""
    text = (ROOT / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(block for block in blocks if "def verify_signature" in block)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    return namespace


def install(daemon: RunningDaemon, tmp: Path, module_id: str, code: str = QUICK, **kw: Any) -> None:
    folder = write_module(tmp / "src", module_id, code, **kw)
    answer = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert answer.status_code == 200, answer.text


def add_hook(daemon: RunningDaemon, **body: Any) -> dict[str, Any]:
    answer = daemon.client().post("/webhooks", json=body)
    assert answer.status_code == 200, answer.text
    hook: dict[str, Any] = answer.json()
    return hook


def deliveries(daemon: RunningDaemon, hook_id: str) -> list[dict[str, Any]]:
    answer = daemon.client().get(f"/webhooks/{hook_id}/deliveries")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["deliveries"]
    return items


def titled(headers: dict[str, str]) -> dict[str, str]:
    return {key.title(): value for key, value in headers.items()}


@pytest.fixture(scope="module")
def http() -> Iterator[Receiver]:
    with receiver() as running:
        yield running


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    base = tmp_path_factory.mktemp("webhooks")
    daemon = RunningDaemon(base / "data", env={"SWEATPANTS_WEBHOOK_RETRY_SECONDS": "0.3"})
    daemon.start()
    try:
        install(daemon, base, "quick", inputs=[{"id": "key", "type": "text", "secret": True}])
        install(daemon, base, "reports", CALLBACK, inputs=TEXT)
        yield daemon
    finally:
        daemon.stop()


def test_a_receiver_failing_twice_gets_the_event_once_more_signed(
    shared: RunningDaemon, http: Receiver
) -> None:
    url = http.on("/flaky", [500, 500, 200])
    hook = add_hook(shared, url=url, events=["job.completed"], module_id="quick", secret=SECRET)
    assert hook["has_secret"] is True and "secret" not in hook
    job_id = shared.start_job("quick", inputs={"key": KEY})
    shared.wait_job(job_id)
    done = wait_for(
        lambda: [d for d in deliveries(shared, hook["id"]) if d["status"] != "pending"],
        60,
        what="the delivery to end",
    )
    assert done[0]["status"] == "delivered", done
    assert (done[0]["attempts"], done[0]["response_code"]) == (3, 200)
    got = http.received("/flaky")
    assert len(got) == 3  # two failures, then exactly once more
    assert len({item.headers["X-Sweatpants-Delivery"] for item in got}) == 1
    last = got[-1]
    body = json.loads(last.body)
    assert (body["event"], body["id"], body["status"]) == ("job.completed", job_id, "completed")
    assert body["delivered_at"] and body["result_count"] == 1
    assert body["inputs"] == {"key": "********"} and KEY.encode() not in last.body
    headers = titled(last.headers)
    assert "sweatpants" in headers["User-Agent"]
    verify = docs_verifiers()
    assert verify["verify_signature"](SECRET.encode(), headers, last.body)
    assert not verify["verify_signature"](b"another secret", headers, last.body)
    assert not verify["verify_signature"](SECRET.encode(), headers, last.body + b" ")
    claims = verify["verify_token"](SECRET.encode(), headers["Authorization"])
    assert claims is not None and claims["jti"] == job_id and claims["scope"] == "callback:write"
    # Created with the master token: no user, so `sub` 0 as the earlier engine's callbacks
    # say for "unknown" (our own inbound verifier refuses 0: it is not a user's token).
    assert (claims["sub"], claims["iss"]) == (0, "sweatpants")
    # Stays delivered: a later delivery through the same queue goes out, this one does not.
    later = http.on("/later", [200])
    probe = add_hook(shared, url=later, events=["job.completed"], module_id="quick")
    shared.wait_job(shared.start_job("quick"))
    wait_for(lambda: http.received("/later"), 60, what="the later delivery")
    wait_for(lambda: len(http.received("/flaky")) >= 4, 60, what="the second job's event")
    again = http.received("/flaky")
    assert len(again) == 4  # the second job's event; nothing of the first repeated
    assert again[3].headers["X-Sweatpants-Delivery"] != got[0].headers["X-Sweatpants-Delivery"]
    for item in (hook, probe):
        assert shared.client().delete(f"/webhooks/{item['id']}").status_code == 200


def test_send_callback_goes_through_the_queue_signed_for_the_earlier_engine(
    shared: RunningDaemon, http: Receiver
) -> None:
    url = http.on("/callback", [503, 200])
    job_id = shared.start_job("reports", inputs={"url": url, "secret": SECRET})
    job = shared.wait_job(job_id)
    assert job["status"] == "completed", job
    assert shared.results(job_id) == [{"acked": True}]
    got = http.received("/callback")
    assert len(got) == 2
    assert json.loads(got[-1].body) == {"done": True, "count": 3}
    headers = titled(got[-1].headers)
    assert headers["User-Agent"].startswith("sweatpants/")
    claims = verify_token(SECRET, headers["Authorization"].removeprefix("Bearer "))
    assert (claims.sub, claims.scopes, claims.jti) == (42, ("callback:write",), job_id)
    log = shared.client().get("/deliveries", params={"job_id": job_id}).json()["deliveries"]
    assert [(d["kind"], d["status"], d["attempts"]) for d in log] == [("callback", "delivered", 2)]


def test_bad_input_names_the_field_and_stores_nothing(shared: RunningDaemon) -> None:
    client = shared.client()
    before = client.get("/webhooks").json()
    cases = [
        ({"url": "ftp://example.org/x", "events": ["job.completed"]}, "url"),
        ({"url": "file:///etc/passwd", "events": ["job.completed"]}, "url"),
        ({"url": "http://", "events": ["job.completed"]}, "url"),
        ({"events": ["job.completed"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["job.finished"]}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": "job.completed"}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": ["job.failed"], "enabled": "yes"}, "enabled"),
        ({"url": "http://127.0.0.1:9/x", "events": ["job.failed"], "colour": 1}, "colour"),
    ]
    for body, field in cases:
        answer = client.post("/webhooks", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert field in (answer.json().get("field") or answer.text), (body, answer.text)
    assert client.get("/webhooks").json() == before
    bad_callbacks = [
        ({"url": "http://127.0.0.1:9/x", "payload": [1, 2]}, "payload"),
        ({"url": "http://127.0.0.1:9/x", "payload": "text"}, "payload"),
        ({"url": "gopher://x", "payload": {}}, "url"),
        ({"url": "http://127.0.0.1:9/x", "payload": {}, "user_id": -1}, "user_id"),
    ]
    for body, field in bad_callbacks:
        answer = client.post("/deliveries", json=body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["field"] == field
    stored = client.get("/deliveries").json()["deliveries"]
    assert all(item["url"] != "http://127.0.0.1:9/x" for item in stored)
    missing = client.get("/webhooks/no-such-hook")
    assert missing.status_code == 404
    hook = add_hook(shared, url="http://127.0.0.1:9/x", events=["job.failed"])
    patched = client.patch(f"/webhooks/{hook['id']}", json={"events": ["nope"]})
    assert patched.status_code == 422 and patched.json()["field"] == "events"
    assert client.get(f"/webhooks/{hook['id']}").json()["events"] == ["job.failed"]
    off = client.patch(f"/webhooks/{hook['id']}", json={"enabled": False}).json()
    assert off["enabled"] is False
    assert client.delete(f"/webhooks/{hook['id']}").json() == {
        "status": "deleted",
        "id": hook["id"],
    }


def test_the_cli_adds_lists_tests_and_removes(shared: RunningDaemon, http: Receiver) -> None:
    url = http.on("/cli", [200])

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sweatpants", "--url", shared.url, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={k: v for k, v in os.environ.items() if k != "SWEATPANTS_URL"},
        )

    added = cli("webhook", "add", url, "--secret", SECRET, "--json")
    assert added.returncode == 0, added.stderr
    hook_id = json.loads(added.stdout)["id"]
    listed = cli("webhook", "list")
    assert hook_id in listed.stdout and "job.completed" in listed.stdout
    tested = cli("webhook", "test", hook_id)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "delivered" in tested.stdout and "HTTP 200" in tested.stdout
    body = json.loads(http.received("/cli")[-1].body)
    assert body["event"] == "webhook.test" and body["webhook_id"] == hook_id
    assert "webhook.test" in cli("webhook", "deliveries", hook_id).stdout
    bad = cli("webhook", "add", "ftp://nowhere")
    assert bad.returncode == 1 and "url" in bad.stderr
    assert cli("webhook", "rm", hook_id).returncode == 0
    assert hook_id not in cli("webhook", "list").stdout


def test_a_daemon_killed_between_attempts_sends_the_rest_after_restart(
    make_daemon: Callable[..., RunningDaemon], http: Receiver, tmp_path: Path
) -> None:
    daemon = make_daemon(env={"SWEATPANTS_WEBHOOK_RETRY_SECONDS": "3"})
    install(daemon, tmp_path, "quick")
    url = http.on("/restart", [503, 200])
    hook = add_hook(daemon, url=url, events=["job.completed"], secret=SECRET)
    daemon.wait_job(daemon.start_job("quick"))
    first = wait_for(
        lambda: [d for d in deliveries(daemon, hook["id"]) if d["attempts"] == 1],
        60,
        what="the first attempt to be recorded",
    )
    assert first[0]["status"] == "pending" and first[0]["response_code"] == 503
    daemon.kill()
    assert len(http.received("/restart")) == 1
    daemon.restart()
    wait_for(lambda: len(http.received("/restart")) == 2, 60, what="the retry after restart")
    done = wait_for(
        lambda: [d for d in deliveries(daemon, hook["id"]) if d["status"] == "delivered"],
        30,
        what="the delivery to be recorded",
    )
    assert done[0]["attempts"] == 2
    verify = docs_verifiers()["verify_signature"]
    last = http.received("/restart")[-1]
    assert verify(SECRET.encode(), titled(last.headers), last.body)


def test_a_receiver_that_never_answers_holds_up_nothing(
    make_daemon: Callable[..., RunningDaemon], http: Receiver, tmp_path: Path
) -> None:
    daemon = make_daemon()
    install(daemon, tmp_path, "quick")
    url = http.on("/hang", HANG)
    add_hook(daemon, url=url, events=["job.created", "job.started", "job.completed"])
    for _ in range(4):
        daemon.start_job("quick")
    wait_for(lambda: http.open >= 8, 60, what="8 deliveries hanging")
    client = daemon.client()
    job = client.post("/jobs", json={"module_id": "quick"})
    hanging_after_post = http.open
    status = client.get("/status")
    hanging_after_status = http.open
    assert job.status_code == 200 and status.status_code == 200
    assert hanging_after_post >= 8 and hanging_after_status >= 8
    assert daemon.wait_job(job.json()["id"])["status"] == "completed"
    timed_out = wait_for(
        lambda: [
            d
            for d in client.get("/deliveries").json()["deliveries"]
            if d["error"] and "no answer within" in d["error"]
        ],
        60,
        what="an attempt to time out",
    )
    assert timed_out[0]["status"] == "pending" and timed_out[0]["response_code"] is None
