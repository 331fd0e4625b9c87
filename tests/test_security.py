"""The daemon refuses foreign hosts and origins, non-JSON bodies, and (when set) missing tokens."""

from __future__ import annotations

import json

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.support.daemon import RunningDaemon

pytestmark = pytest.mark.live


def test_foreign_host_is_refused_dns_rebinding(daemon: RunningDaemon) -> None:
    client = daemon.client()
    response = client.get("/status", headers={"Host": "evil.example"})
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden" and "evil.example" in response.json()["detail"]
    for host in (f"localhost:{daemon.port}", f"127.0.0.1:{daemon.port}", f"[::1]:{daemon.port}"):
        assert client.get("/status", headers={"Host": host}).status_code == 200
    with pytest.raises(InvalidStatus) as refused:
        connect(daemon.ws_url("/events"), additional_headers={"Host": "evil.example"})
    assert refused.value.response.status_code == 403


def test_foreign_origin_is_refused_for_changes_and_websockets(daemon: RunningDaemon) -> None:
    client = daemon.client()
    evil = {"Origin": "https://evil.example"}
    response = client.post("/jobs", json={"module_id": "hello"}, headers=evil)
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    same_port_other_host = {"Origin": f"http://evil.example:{daemon.port}"}
    assert client.post("/modules/reload", headers=same_port_other_host).status_code == 403
    other_port = {"Origin": "http://127.0.0.1:1"}
    assert client.post("/modules/reload", headers=other_port).status_code == 403
    own = {"Origin": f"http://127.0.0.1:{daemon.port}"}
    assert client.post("/jobs", json={"module_id": "nope"}, headers=own).status_code == 404
    assert client.get("/status", headers=evil).status_code == 200  # reading needs no origin check
    with pytest.raises(InvalidStatus) as refused:
        connect(daemon.ws_url("/events"), origin=Origin("https://evil.example"))
    assert refused.value.response.status_code == 403
    with connect(daemon.ws_url("/events"), origin=Origin(f"http://localhost:{daemon.port}")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
def test_bodies_must_be_json(daemon: RunningDaemon, content_type: str) -> None:
    response = daemon.client().post(
        "/jobs", content=b'{"module_id": "hello"}', headers={"Content-Type": content_type}
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_token_is_enforced_everywhere_when_set(make_daemon) -> None:
    daemon = make_daemon(token="s3cret-token")
    with httpx.Client(base_url=daemon.url) as anonymous:
        response = anonymous.get("/status")
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
        wrong = anonymous.get("/jobs", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid credentials"
        assert anonymous.get("/").status_code == 200  # the dashboard loads and asks for it
    assert daemon.client().get("/jobs").status_code == 200
    with pytest.raises(InvalidStatus):
        connect(daemon.ws_url("/events"))
    with connect(daemon.ws_url("/events?token=s3cret-token")) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
    record = json.loads((daemon.data_dir / "daemon.json").read_text())
    assert record["token"] == "s3cret-token" and record["url"] == daemon.url
    assert (daemon.data_dir / "daemon.json").stat().st_mode & 0o777 == 0o600


def test_errors_share_one_shape(daemon: RunningDaemon) -> None:
    client = daemon.client()
    for response in (
        client.get("/no/such/endpoint"),
        client.get("/jobs/unknown-job-id"),
        client.get("/jobs", params={"status": "sleeping"}),
        client.get("/jobs", params={"limit": 0}),
        client.delete("/status"),
    ):
        body = response.json()
        assert response.status_code >= 400
        assert isinstance(body["detail"], str) and body["detail"]
        assert isinstance(body["error"], str)
    bad_status = client.get("/jobs", params={"status": "sleeping"}).json()
    assert bad_status["field"] == "status"
