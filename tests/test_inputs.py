"""Richer inputs: select and multiselect (options), integer/number bounds and steps, text
patterns and multiline, label/placeholder/help. The manifest checks them when it is read, the
daemon refuses values outside them with a 422 naming the field, and the generated run form
(real Chromium) says the same beside the field before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sweatpants.errors import InvalidInput
from sweatpants.modules.manifest import Manifest
from tests.support.daemon import RunningDaemon
from tests.support.modules import write_module

ECHO = """
from sweatpants import Module


class Echo(Module):
    async def run(self, inputs, settings):
        yield {key: inputs.get(key) for key in ("color", "size", "count", "ratio", "tags", "code", "notes")}
"""

RICH_INPUTS: list[dict[str, Any]] = [
    {
        "id": "color",
        "type": "select",
        "label": "Colour",
        "required": True,
        "options": [{"value": "red", "label": "Red"}, {"value": "green", "label": "Green"}, "blue"],
        "help": "The colour to paint.",
    },
    {"id": "size", "type": "select", "options": [1, 2, 3], "default": 2},
    {"id": "count", "type": "integer", "label": "How many", "min": 1, "max": 10, "default": 3},
    {"id": "ratio", "type": "number", "min": 0, "max": 1, "step": 0.25},
    {"id": "tags", "type": "multiselect", "options": ["a", "b", "c"], "label": "Tags"},
    {"id": "code", "type": "text", "pattern": "[A-Z]{3}", "placeholder": "ABC"},
    {"id": "notes", "type": "text", "multiline": True, "label": "Notes"},
]


def rich(**changes: Any) -> Manifest:
    inputs = [dict(field, **changes.get(field["id"], {})) for field in RICH_INPUTS]
    return Manifest.parse({"id": "rich", "name": "Rich", "version": "1", "inputs": inputs})


# ----- the manifest and coercion (unit)


def test_values_within_the_rules_are_coerced() -> None:
    values = rich().coerce_inputs(
        {
            "color": "green",
            "size": "3",
            "count": "10",
            "ratio": "0.75",
            "tags": "c,a,c",
            "code": "XYZ",
        }
    )
    assert values == {
        "color": "green",
        "size": 3,  # "3" typed on a command line is the option 3
        "count": 10,
        "ratio": 0.75,
        "tags": ["c", "a"],
        "code": "XYZ",
    }
    assert rich().coerce_inputs({"color": "blue", "tags": ["b"]})["tags"] == ["b"]
    assert rich().coerce_inputs({"color": "red", "tags": '["a", "b"]'})["tags"] == ["a", "b"]


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        (
            {"color": "purple"},
            "inputs.color",
            "must be one of 'red', 'green', 'blue'; got 'purple'",
        ),
        ({"color": "red", "size": 4}, "inputs.size", "must be one of 1, 2, 3; got 4"),
        ({"color": "red", "count": 11}, "inputs.count", "must be at most 10, got 11"),
        ({"color": "red", "count": 0}, "inputs.count", "must be at least 1, got 0"),
        ({"color": "red", "ratio": 0.3}, "inputs.ratio", "must go in steps of 0.25, got 0.3"),
        (
            {"color": "red", "tags": ["a", "z"]},
            "inputs.tags",
            "must be one of 'a', 'b', 'c'; got 'z'",
        ),
        ({"color": "red", "code": "abc"}, "inputs.code", "must match the pattern [A-Z]{3}"),
        ({"color": "red", "code": "ABCD"}, "inputs.code", "must match the pattern [A-Z]{3}"),
        ({}, "inputs.color", "inputs.color is required (select)"),
    ],
)
def test_values_outside_the_rules_are_refused_naming_the_field(
    given: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rich().coerce_inputs(given)
    assert caught.value.field == field
    assert message in caught.value.detail


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"color": {"options": None}}, "inputs[0].options", "is required for a select"),
        ({"color": {"options": []}}, "inputs[0].options", "must be a non-empty list"),
        ({"color": {"options": ["red", "red"]}}, "inputs[0].options[1]", "listed twice"),
        ({"color": {"options": [{"label": "x"}]}}, "inputs[0].options[0]", 'needs a "value"'),
        ({"count": {"min": 5, "max": 1}}, "inputs[2].min", "5 is greater than max 1"),
        ({"count": {"min": 1.5}}, "inputs[2].min", "must be a whole number"),
        ({"ratio": {"step": 0}}, "inputs[3].step", "must be greater than 0"),
        ({"count": {"default": 20}}, "inputs[2].default", "must be at most 10, got 20"),
        ({"size": {"default": 9}}, "inputs[1].default", "must be one of 1, 2, 3; got 9"),
        ({"code": {"pattern": "("}}, "inputs[5].pattern", "not a valid regular expression"),
        ({"notes": {"multiline": "yes"}}, "inputs[6].multiline", "must be true or false"),
        ({"notes": {"label": 5}}, "inputs[6].label", "must be a string"),
    ],
)
def test_wrong_rules_in_module_json_name_the_key(
    changes: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        rich(**changes)
    assert caught.value.field == field
    assert message in caught.value.detail


def test_rules_stay_in_the_manifest_as_written() -> None:
    """GET /modules/{id} shows each field as module.json has it: the form reads them there."""
    shown = rich().to_dict()["inputs"]
    assert shown[0]["options"] == RICH_INPUTS[0]["options"]
    assert (shown[2]["min"], shown[2]["max"], shown[2]["label"]) == (1, 10, "How many")
    assert shown[6]["multiline"] is True


# ----- the daemon's API and the run form (a real daemon, real Chromium)


@pytest.fixture(scope="module")
def inputs_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    root = tmp_path_factory.mktemp("inputs")
    daemon = RunningDaemon(root / "data")
    daemon.start()
    folder = write_module(root / "src", "rich", ECHO, inputs=RICH_INPUTS)
    answer = daemon.client().post("/modules/install", json={"source_path": str(folder)})
    assert answer.status_code == 200, answer.text
    yield daemon
    daemon.stop()


@pytest.mark.live
def test_the_api_refuses_values_outside_the_rules(inputs_daemon: RunningDaemon) -> None:
    client = inputs_daemon.client()
    for inputs, field, message in [
        (
            {"color": "purple"},
            "inputs.color",
            "must be one of 'red', 'green', 'blue'; got 'purple'",
        ),
        ({"color": "red", "count": 12}, "inputs.count", "must be at most 10, got 12"),
        ({"color": "red", "tags": ["q"]}, "inputs.tags", "got 'q'"),
    ]:
        answer = client.post("/jobs", json={"module_id": "rich", "inputs": inputs})
        assert answer.status_code == 422, answer.text
        body = answer.json()
        assert (body["error"], body["field"]) == ("invalid_input", field)
        assert body["detail"] == f"{field}: {message}" or message in body["detail"]
    assert client.get("/jobs", params={"module_id": "rich"}).json()["jobs"] == []

    job_id = inputs_daemon.start_job(
        "rich", inputs={"color": "blue", "size": "1", "tags": "b", "ratio": 0.5}
    )
    assert inputs_daemon.wait_job(job_id)["status"] == "completed"
    assert inputs_daemon.results(job_id) == [
        {"color": "blue", "size": 1, "count": 3, "ratio": 0.5, "tags": ["b"], "code": None,
         "notes": None}
    ]  # fmt: skip


@pytest.mark.live
@pytest.mark.browser
@pytest.mark.timeout(240)
def test_the_run_form_shows_the_rules_and_says_what_is_wrong_beside_the_field(
    inputs_daemon: RunningDaemon, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    from tests.support.browser import ConsoleWatch, launch_chromium, screenshot

    daemon = inputs_daemon
    before = len(daemon.client().get("/jobs").json()["jobs"])
    with launch_chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(20_000)
        page = context.new_page()
        watch = ConsoleWatch().attach(page)
        page.goto(f"{daemon.url}/#/run/rich")
        form = page.locator("#run-form")
        color = form.locator('[data-field="inputs.color"]')
        expect(color.locator("select")).to_be_visible()
        # Labels, help, options with their labels, placeholder, bounds said under the field.
        expect(form.get_by_label("Colour")).to_have_count(1)
        expect(color).to_contain_text("The colour to paint.")
        assert color.locator("option").all_inner_texts() == ["Choose…", "Red", "Green", "blue"]
        expect(form.locator('[data-field="inputs.count"]')).to_contain_text("From 1 to 10.")
        expect(form.locator('[data-field="inputs.code"] input')).to_have_attribute(
            "placeholder", "ABC"
        )
        expect(form.locator('[data-field="inputs.notes"] textarea')).to_be_visible()
        expect(form.locator('[data-field="inputs.tags"] input[type=checkbox]')).to_have_count(3)

        # An integer above its max: the message beside the field, nothing sent.
        color.locator("select").select_option(label="Green")
        form.locator('[data-field="inputs.count"] input').fill("12")
        page.get_by_role("button", name="Start job").click()
        count_error = form.locator('[data-field="inputs.count"] .field-error')
        expect(count_error).to_have_text("Must be at most 10, got 12")
        expect(form.locator('[data-field="inputs.count"] input')).to_be_focused()
        expect(form.locator(".field-error")).to_have_count(1)
        screenshot(page, "run-form-bounds")
        assert len(daemon.client().get("/jobs").json()["jobs"]) == before

        # A value the module no longer offers (an earlier job's, via Edit and run): shown
        # flagged in the select, refused beside the field with the daemon's words.
        page.evaluate(
            """() => sessionStorage.setItem("sweatpants.prefill", JSON.stringify({moduleId: "rich",
               values: {inputs: {color: "purple", count: 4, tags: ["a", "c"]}}}))"""
        )
        page.goto(f"{daemon.url}/#/overview")
        page.goto(f"{daemon.url}/#/run/rich")
        expect(color.locator("select")).to_have_value("0")
        expect(color.locator("option").nth(1)).to_have_text("purple (not an option)")
        page.get_by_role("button", name="Start job").click()
        expect(color.locator(".field-error")).to_have_text(
            "Must be one of 'red', 'green', 'blue'; got 'purple'"
        )
        expect(form.locator(".field-error")).to_have_count(1)

        # Fixed: the job starts with typed values, the multiselect as a list.
        color.locator("select").select_option(label="Red")
        page.get_by_role("button", name="Start job").click()
        page.wait_for_url("**/#/jobs/*")
        job_id = page.url.rsplit("/", 1)[-1]
        job = daemon.wait_job(job_id)
        assert job["status"] == "completed"
        assert daemon.results(job_id)[0]["tags"] == ["a", "c"]
        assert daemon.results(job_id)[0]["count"] == 4
        assert watch.unexpected() == []
        context.close()


# ----- docs/modules.md tells the truth about the kinds and attributes


def doc_table(heading_cell: str) -> list[list[str]]:
    text = (Path(__file__).resolve().parent.parent / "docs" / "modules.md").read_text()
    rows: list[list[str]] = []
    inside = False
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == heading_cell:
            inside = True
            continue
        if inside and line.startswith("|"):
            if not set(cells[0]) <= {"-"}:
                rows.append(cells)
        elif inside:
            break
    return rows


def test_the_docs_list_every_kind_and_every_attribute() -> None:
    from sweatpants.modules.coerce import KINDS
    from sweatpants.modules.field_rules import parse_rules

    kinds = [row[0].strip("`") for row in doc_table("type")]
    assert sorted(kinds) == sorted(KINDS)
    attributes = {name.strip("` ") for row in doc_table("attribute") for name in row[0].split(",")}
    read: set[str] = set()

    class Watch(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            read.add(key)
            return super().get(key, default)

    parse_rules(Watch(options=["a"]), "select")
    assert attributes == read
