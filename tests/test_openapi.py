"""The typed API: /openapi.json names every answer's model, the one error shape and the bearer
token; /docs and /redoc are served from the daemon itself; typing the answers changed none.

The schema and page tests run in-process (the app over httpx's ASGI transport, no engine
started); the answer tests run on a real daemon.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter

from sweatpants.api import schemas
from sweatpants.api.app import create_app
from sweatpants.config import Settings
from sweatpants.modules.registry import ModuleRegistry
from tests.support.daemon import RunningDaemon, free_port
from tests.support.modules import write_module
from tests.support.tinyproxy import PageServer

BASE = "http://127.0.0.1:8420"
TOKEN = "docs-test-token"


def make_app(tmp_path: Path, token: str | None = None) -> FastAPI:
    environ = {"SWEATPANTS_DATA_DIR": str(tmp_path / "data")}
    if token:
        environ["SWEATPANTS_API_AUTH_TOKEN"] = token
    return create_app(Settings.load(environ))


def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One GET through the app in this process (no lifespan: the engine is not started)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(send())


@pytest.fixture
def spec(tmp_path: Path) -> dict[str, Any]:
    answer = get(make_app(tmp_path), "/openapi.json")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def answer_schema(spec: dict[str, Any], method: str, path: str) -> Any:
    return spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]


# ----- the schema


def test_answers_are_named_models(spec: dict[str, Any]) -> None:
    expected = {
        ("get", "/status"): "Status",
        ("get", "/modules"): "ModuleList",
        ("get", "/modules/{module_id}"): "Module",
        ("post", "/modules/install"): "ModuleSummary",
        ("post", "/modules/install-git"): "ModuleSummary",
        ("delete", "/modules/{module_id}"): "Uninstalled",
        ("post", "/modules/sync"): "SyncReport",
        ("post", "/modules/reload"): "ReloadReport",
        ("get", "/jobs"): "JobPage",
        ("post", "/jobs"): "JobSubmitted",
        ("get", "/jobs/{job_id}"): "Job",
        ("post", "/jobs/{job_id}/stop"): "JobStopped",
        ("post", "/jobs/{job_id}/rerun"): "JobSubmitted",
        ("get", "/modules/{module_id}/settings"): "ModuleSettings",
        ("put", "/modules/{module_id}/settings"): "ModuleSettings",
        ("get", "/jobs/{job_id}/logs"): "LogPage",
        ("get", "/jobs/{job_id}/results"): "ResultPage",
        ("post", "/proxy-fetch"): "ProxyFetchAnswer",
        ("get", "/capabilities"): "CapabilitiesState",
    }
    for (method, path), model in expected.items():
        assert answer_schema(spec, method, path) == ref(model), (method, path)
    export = spec["paths"]["/jobs/{job_id}/results/export"]["get"]["responses"]["200"]
    assert set(export["content"]) == {"application/x-ndjson", "text/csv"}


def test_models_have_typed_properties(spec: dict[str, Any]) -> None:
    models = spec["components"]["schemas"]

    status = models["Status"]
    props = status["properties"]
    assert props["status"] == {"type": "string", "const": "running", "title": "Status"}
    assert props["uptime"]["type"] == "string" and props["module_count"]["type"] == "integer"
    assert props["uptime_seconds"]["type"] == "number"
    assert props["jobs"]["items"] == ref("RunningJob")
    assert props["counts"] == ref("JobCounts") and props["disk"] == ref("DiskState")
    assert props["proxy"] == ref("ProxyState") and props["browser"] == ref("BrowserPoolState")
    assert {"status", "uptime", "module_count", "jobs", "counts", "disk"} <= set(status["required"])
    assert set(models["JobCounts"]["required"]) == {
        "pending",
        "running",
        "completed",
        "failed",
        "stopped",
    }

    module = models["Module"]
    assert {"id", "name", "version", "inputs", "settings", "capabilities"} <= set(
        module["required"]
    )
    assert module["properties"]["inputs"]["items"] == ref("ModuleField")
    assert module["properties"]["capabilities"] == {
        "type": "array",
        "items": {"type": "string"},
        "title": "Capabilities",
        "description": "`proxy`, `browser`",
    }
    assert module["additionalProperties"] is True  # module.json keys the engine does not know
    field = models["ModuleField"]
    assert field["properties"]["required"]["type"] == "boolean"
    assert models["ModuleSummary"]["properties"]["requirements"]["enum"] == [
        "none",
        "pending",
        "installed",
    ]

    logs = models["LogPage"]
    assert logs["properties"]["logs"]["items"] == ref("LogEntry")
    assert logs["properties"]["next_cursor"]["anyOf"] == [{"type": "integer"}, {"type": "null"}]
    entry = models["LogEntry"]["properties"]
    assert entry["id"]["type"] == "integer" and entry["message"]["type"] == "string"

    results = models["ResultPage"]
    assert results["properties"]["results"]["items"] == ref("ResultEntry")
    assert results["properties"]["total"]["type"] == "integer"
    assert models["ResultEntry"]["properties"]["seq"]["type"] == "integer"

    fetched = models["ProxyFetchAnswer"]
    assert fetched["properties"]["success"]["type"] == "boolean"
    assert {"success", "content", "status_code", "headers"} <= set(fetched["required"])


def test_every_error_answer_is_the_one_error_shape(spec: dict[str, Any]) -> None:
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "error"}
    assert error["properties"]["detail"]["type"] == "string"
    assert error["properties"]["errors"]["anyOf"][0]["items"] == ref("FieldProblem")
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    seen: set[str] = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "403", "500", "507"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    seen.add(code)
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == ref("Error"), (method, path, code)
                    assert response["description"], (method, path, code)
    assert {"401", "403", "404", "409", "415", "422", "500", "503", "507"} <= seen
    job = spec["paths"]["/jobs/{job_id}"]["get"]["responses"]
    assert {"404", "409", "422"} <= set(job)
    assert {"404", "422"} <= set(spec["paths"]["/modules/{module_id}"]["get"]["responses"])


def test_bearer_token_is_declared_and_optional(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert len(schemes) == 1
    name, scheme = next(iter(schemes.items()))
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "SWEATPANTS_API_AUTH_TOKEN" in scheme["description"]
    # Either the token or nothing: a daemon without a token needs none.
    assert spec["security"] == [{name: []}, {}]


# ----- the pages


def same_origin_references(html: str) -> list[str]:
    """Every URL the page refers to (src, href, spec-url, url: '...'); all must be paths."""
    found = re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html)
    found += re.findall(r"""\burl:\s*["']([^"']+)["']""", html)
    return found


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_refer_only_to_this_daemon(tmp_path: Path, page: str) -> None:
    app = make_app(tmp_path)
    html = get(app, page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "http:" not in html.text and "https:" not in html.text  # no CDN, no web fonts
    policy = html.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:;" in policy
    assert "http" not in policy and "unsafe-eval" not in policy
    for script in re.findall(r"<script>(.*?)</script>", html.text, flags=re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy  # the one inline script may run, no other
    references = same_origin_references(html.text)
    assert "/openapi.json" in references
    assert any(r.endswith(".js") for r in references)
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        answer = get(app, reference)
        assert answer.status_code == 200, (reference, answer.status_code)
        assert len(answer.content) > 100, reference


def test_docs_need_no_token_when_one_is_configured(tmp_path: Path) -> None:
    app = make_app(tmp_path, token=TOKEN)
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/assets/swagger-ui-bundle.js"):
        assert get(app, path).status_code == 200, path
    refused = get(app, "/jobs")
    assert refused.status_code == 401 and refused.json()["error"] == "unauthorized"
    foreign = get(app, "/docs", headers={"Host": "evil.example"})
    assert foreign.status_code == 403  # the Host check still covers the pages


# ----- the answers, on a real daemon


def roundtrip(model: Any, data: Any) -> None:
    """`data` is exactly what `model` describes: validating it and writing it back changes
    nothing (a key the model does not list, or a value it would convert, shows here)."""
    adapter = TypeAdapter(model)
    again = adapter.dump_python(adapter.validate_python(data), mode="json", exclude_unset=True)
    assert again == data, model.__name__


EXTRA_MANIFEST = {"author": "someone", "tags": ["a", "b"], "ui": {"color": "blue"}}
NUMBERS = """
from sweatpants import Module

class Numbers(Module):
    async def run(self, inputs, settings):
        await self.log("one", "WARNING")
        yield {"int": 1, "float": 1.0, "big": 10**15, "none": None, "nested": {"x": [1, 2.5]}}
        yield [1, "two"]
        yield "plain"
"""


@pytest.fixture
def site() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.stop()


def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}/"


@pytest.mark.live
def test_typed_answers_keep_every_field_and_value(
    daemon: RunningDaemon, tmp_path: Path, site: PageServer
) -> None:
    client = daemon.client()
    folder = write_module(
        tmp_path / "src",
        "numbers",
        NUMBERS,
        inputs=[{"id": "n", "type": "integer", "default": 2, "placeholder": "how many"}],
    )
    manifest = json.loads((folder / "module.json").read_text())
    (folder / "module.json").write_text(json.dumps({**manifest, **EXTRA_MANIFEST}))
    installed = client.post("/modules/install", json={"source_path": str(folder)})
    assert installed.status_code == 200, installed.text
    roundtrip(schemas.ModuleSummary, installed.json())

    # Module answers are what the registry says, extra module.json keys included.
    registry = ModuleRegistry(Settings.load({"SWEATPANTS_DATA_DIR": str(daemon.data_dir)}))
    detail = client.get("/modules/numbers").json()
    expected = json.loads(json.dumps(registry.get("numbers").to_dict()))
    expected["env"] = None  # the route adds the module's environment (none: no requirements)
    assert detail == expected and list(detail) == list(expected)  # module.json's keys first
    assert detail["author"] == "someone" and detail["inputs"][0]["placeholder"] == "how many"
    roundtrip(schemas.Module, detail)
    listed = client.get("/modules").json()
    assert listed == {"modules": [m.to_summary() for m in registry.list()]}
    roundtrip(schemas.ModuleList, listed)
    roundtrip(schemas.ReloadReport, client.post("/modules/reload").json())
    roundtrip(schemas.SyncReport, client.post("/modules/sync").json())

    started = client.post("/jobs", json={"module_id": "numbers", "inputs": {"n": 3}})
    roundtrip(schemas.JobSubmitted, started.json())
    job_id = started.json()["id"]
    daemon.wait_job(job_id)
    job = client.get(f"/jobs/{job_id}").json()
    assert job["inputs"] == {"n": 3} and job["module"] == job["module_id"] == "numbers"
    roundtrip(schemas.Job, job)
    listed_jobs = client.get("/jobs").json()  # sent as built: the model still describes it
    assert listed_jobs == {"jobs": [job], "next_cursor": None}
    roundtrip(schemas.JobPage, listed_jobs)
    ended = client.post(f"/jobs/{job_id}/stop")
    assert ended.status_code == 409 and ended.json()["error"] == "conflict"
    logs = client.get(f"/jobs/{job_id}/logs")
    assert [set(e) for e in logs.json()["logs"]] == [{"id", "timestamp", "level", "message"}]
    roundtrip(schemas.LogPage, logs.json())
    results = client.get(f"/jobs/{job_id}/results")
    assert [r["data"] for r in results.json()["results"]] == [
        {"int": 1, "float": 1.0, "big": 10**15, "none": None, "nested": {"x": [1, 2.5]}},
        {"value": [1, "two"]},  # the SDK wraps what is not an object
        {"value": "plain"},
    ]
    assert '"float":1.0' in results.text and '"int":1,' in results.text  # no int/float change
    roundtrip(schemas.ResultPage, results.json())
    page = client.get(f"/jobs/{job_id}/results", params={"limit": 1}).json()
    assert page["next_cursor"] == 1 and page["total"] == 3
    roundtrip(schemas.ResultPage, page)

    # /status is not validated per request; the model still describes it exactly.
    roundtrip(schemas.Status, client.get("/status").json())
    roundtrip(schemas.CapabilitiesState, client.get("/capabilities").json())

    fetched = client.post("/proxy-fetch", json={"url": f"{site.url}/"}).json()
    assert fetched["success"] is True and "detail" not in fetched and "elapsed_ms" in fetched
    roundtrip(schemas.ProxyFetchAnswer, fetched)
    failed = client.post("/proxy-fetch", json={"url": closed_port_url(), "timeout": 5}).json()
    assert failed["success"] is False
    assert set(failed) == {
        "success",
        "content",
        "status_code",
        "headers",
        "encoding",
        "error",
        "detail",
        "proxy",
    }
    roundtrip(schemas.ProxyFetchAnswer, failed)

    # Errors keep their one shape, and it is the documented one.
    missing = client.get("/modules/no-such-module")
    assert missing.status_code == 404
    roundtrip(schemas.Error, missing.json())
    invalid = client.get(f"/jobs/{job_id}/logs", params={"limit": 0})
    assert invalid.status_code == 422 and invalid.json()["field"] == "limit"
    roundtrip(schemas.Error, invalid.json())

    removed = client.delete("/modules/numbers")
    assert removed.json() == {"id": "numbers", "uninstalled": True}
    roundtrip(schemas.Uninstalled, removed.json())
