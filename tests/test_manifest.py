"""module.json: every way it can be broken names the file and the field; values are coerced."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sweatpants.errors import InvalidInput
from sweatpants.modules.manifest import Field, Manifest

GOOD: dict[str, Any] = {
    "id": "demo",
    "name": "Demo",
    "version": "1.0.0",
    "inputs": [
        {"id": "name", "type": "text", "default": "world"},
        {"id": "count", "type": "integer", "required": True},
    ],
}


def write(folder: Path, manifest: Any, *, raw: str | None = None, entry: str = "main.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = raw if raw is not None else json.dumps(manifest, indent=2)
    (folder / "module.json").write_text(text, encoding="utf-8")
    (folder / entry).parent.mkdir(parents=True, exist_ok=True)
    (folder / entry).write_text("# module\n")
    return folder


def broken(tmp_path: Path, manifest: Any = None, raw: str | None = None) -> InvalidInput:
    folder = write(tmp_path / "m", manifest, raw=raw)
    with pytest.raises(InvalidInput) as caught:
        Manifest.load(folder)
    assert str(folder / "module.json") in caught.value.detail
    return caught.value


def test_loads_a_good_manifest(tmp_path: Path) -> None:
    manifest = Manifest.load(write(tmp_path / "m", GOOD))
    assert manifest.id == "demo"
    assert manifest.entrypoint == "main.py"
    assert [f.id for f in manifest.inputs] == ["name", "count"]
    assert manifest.inputs[1].required is True
    assert manifest.to_summary() == {
        "id": "demo",
        "name": "Demo",
        "version": "1.0.0",
        "description": "",
        "capabilities": [],
    }


@pytest.mark.parametrize("missing", ["id", "name", "version"])
def test_required_fields(tmp_path: Path, missing: str) -> None:
    manifest = {key: value for key, value in GOOD.items() if key != missing}
    error = broken(tmp_path, manifest)
    assert f"field '{missing}' is required" in error.detail
    assert error.field == missing


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    error = broken(tmp_path, raw='{\n  "id": "x",\n  "name" "X"\n}\n')
    assert "not valid JSON at line 3 column 10" in error.detail


def test_top_level_must_be_an_object(tmp_path: Path) -> None:
    error = broken(tmp_path, raw="[1, 2]")
    assert "must be a JSON object" in error.detail


def test_missing_manifest_file(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput) as caught:
        Manifest.load(tmp_path / "empty")
    assert str(tmp_path / "empty" / "module.json") in caught.value.detail
    assert "not found" in caught.value.detail


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"id": "../evil"}, "id", "not a valid module id"),
        ({"id": ".hidden"}, "id", "not a valid module id"),
        ({"id": "a/b"}, "id", "not a valid module id"),
        ({"id": "a..b"}, "id", "no '..'"),
        ({"id": 5}, "id", "must be a string"),
        ({"id": "x" * 65}, "id", "not a valid module id"),
        ({"name": ""}, "name", "non-empty string"),
        ({"version": ["1"]}, "version", "non-empty string"),
        ({"description": 3}, "description", "must be a string"),
        ({"entrypoint": "../outside.py"}, "entrypoint", "'..'"),
        ({"entrypoint": "/etc/passwd"}, "entrypoint", "relative path"),
        ({"inputs": "nope"}, "inputs", "must be a list"),
        ({"inputs": [{"id": "a"}, {"id": "b"}, {"id": "c", "type": 3}]}, "inputs[2].type", "type"),
        ({"inputs": [{"type": "text"}]}, "inputs[0].id", "is required"),
        ({"inputs": [{"id": "a"}, {"id": "a"}]}, "inputs[1].id", "declared twice"),
        (
            {"inputs": [{"id": "n", "type": "integer", "default": "x"}]},
            "inputs[0].default",
            "integer",
        ),
        ({"inputs": [{"id": "n", "required": "yes"}]}, "inputs[0].required", "true or false"),
        ({"settings": {"key": 5}}, "settings.key", "must be an object"),
        ({"capabilities": [1]}, "capabilities[0]", "non-empty string"),
        ({"capabilities": 7}, "capabilities", "list of strings"),
    ],
)
def test_broken_fields_are_named(
    tmp_path: Path, change: dict[str, Any], field: str, words: str
) -> None:
    error = broken(tmp_path, {**GOOD, **change})
    assert error.field == field
    assert f"field '{field}'" in error.detail
    assert words in error.detail


def test_entrypoint_must_exist(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", {**GOOD, "entrypoint": "app/run.py"}, entry="main.py")
    with pytest.raises(InvalidInput) as caught:
        Manifest.load(folder)
    assert caught.value.field == "entrypoint"
    assert "does not exist" in caught.value.detail


def test_entrypoint_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("# elsewhere\n")
    folder = write(tmp_path / "m", {**GOOD, "entrypoint": "link.py"})
    (folder / "link.py").symlink_to(outside)
    with pytest.raises(InvalidInput) as caught:
        Manifest.load(folder)
    assert "outside the module folder" in caught.value.detail


def test_wild_manifests_are_accepted_and_extra_keys_kept(tmp_path: Path) -> None:
    wild = {
        "id": "wild",
        "name": "Wild",
        "version": 2,
        "author": "someone",
        "entrypoint": "src/app.py",
        "inputs": {
            "token": {"type": "secret", "required": True, "label": "API token"},
            "query": {"type": "string", "placeholder": "search..."},
            "payload": {"type": "json", "default": '{"a": 1}'},
        },
        "settings": [{"id": "speed", "type": "float", "default": "1.5"}],
        "capabilities": ["proxy", "browser", "teleport"],
    }
    manifest = Manifest.load(write(tmp_path / "m", wild, entry="src/app.py"))
    assert manifest.version == "2"
    assert manifest.extra == {"author": "someone"}
    token, query, payload = manifest.inputs
    assert (token.type, token.kind, token.secret) == ("secret", "text", True)
    assert token.extra == {"label": "API token"}
    assert (query.kind, query.secret) == ("text", False)
    assert payload.default == {"a": 1}
    assert manifest.settings[0].default == 1.5
    assert manifest.capabilities == ("proxy", "browser", "teleport")
    full = manifest.to_dict()
    assert full["author"] == "someone"
    assert full["inputs"][0] == {
        "id": "token",
        "type": "secret",
        "required": True,
        "default": None,
        "description": "",
        "label": "API token",
    }
    assert manifest.mask_inputs({"token": "hunter2", "query": "q"}) == {
        "token": "********",
        "query": "q",
    }


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    folder = write(tmp_path / "m", None, raw="\ufeff" + json.dumps(GOOD))
    assert Manifest.load(folder).id == "demo"


# ----- coercion


def field(kind: str, **kw: Any) -> Manifest:
    return Manifest(id="c", name="C", version="1", inputs=(Field(id="v", type=kind, **kw),))


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        ("text", "hi", "hi"),
        ("text", 5, "5"),
        ("text", True, "true"),
        ("string", "x", "x"),
        ("secret", "s3", "s3"),
        ("integer", "5", 5),
        ("integer", " 7 ", 7),
        ("integer", 5.0, 5),
        ("integer", "5.0", 5),
        ("integer", -3, -3),
        ("number", "0.25", 0.25),
        ("number", "5", 5),
        ("number", 3, 3),
        ("number", 2.5, 2.5),
        ("boolean", "true", True),
        ("boolean", "1", True),
        ("boolean", "yes", True),
        ("boolean", "On", True),
        ("boolean", "false", False),
        ("boolean", "0", False),
        ("boolean", "no", False),
        ("boolean", 1, True),
        ("boolean", False, False),
        ("json", [1, 2], [1, 2]),
        ("json", {"a": 1}, {"a": 1}),
        ("json", "[1, 2]", [1, 2]),
        ("json", '{"a": {"b": null}}', {"a": {"b": None}}),
    ],
)
def test_coercion_table(kind: str, given: Any, expected: Any) -> None:
    coerced = field(kind).coerce_inputs({"v": given})["v"]
    assert coerced == expected
    assert type(coerced) is type(expected)


@pytest.mark.parametrize(
    ("kind", "given", "words"),
    [
        ("integer", "abc", "expected an integer"),
        ("integer", 5.5, "expected an integer"),
        ("integer", True, "boolean"),
        ("integer", [1], "expected an integer"),
        ("number", "fast", "expected a number"),
        ("number", "nan", "finite"),
        ("number", {"a": 1}, "expected a number"),
        ("boolean", "maybe", "true or false"),
        ("boolean", 2, "true or false"),
        ("json", "{not json", "expected JSON"),
        ("text", {"a": 1}, "expected text"),
    ],
)
def test_coercion_rejects_garbage(kind: str, given: Any, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        field(kind).coerce_inputs({"v": given})
    assert caught.value.field == "inputs.v"
    assert words in caught.value.detail


def test_defaults_required_and_extra_keys() -> None:
    manifest = Manifest(
        id="c",
        name="C",
        version="1",
        inputs=(
            Field(id="name", type="text", default="world"),
            Field(id="count", type="integer", required=True),
            Field(id="opts", type="json", default=[1]),
            Field(id="maybe", type="number"),
        ),
        settings=(Field(id="fast", type="boolean", required=True),),
    )
    coerced = manifest.coerce_inputs({"count": "3", "legacy_flag": "kept"})
    assert coerced == {"name": "world", "count": 3, "opts": [1], "legacy_flag": "kept"}
    coerced["opts"].append(2)
    assert manifest.inputs[2].default == [1]  # defaults are copied, not shared
    # Blank form values for non-text fields count as "not given".
    assert manifest.coerce_inputs({"count": 1, "maybe": ""}) == {
        "name": "world",
        "count": 1,
        "opts": [1],
    }
    with pytest.raises(InvalidInput) as caught:
        manifest.coerce_inputs({})
    assert caught.value.field == "inputs.count"
    assert "required" in caught.value.detail
    with pytest.raises(InvalidInput) as caught:
        manifest.coerce_inputs({"count": None})
    assert caught.value.field == "inputs.count"
    with pytest.raises(InvalidInput) as caught:
        manifest.coerce_settings(None)
    assert caught.value.field == "settings.fast"
    assert manifest.coerce_settings({"fast": "yes"}) == {"fast": True}
    with pytest.raises(InvalidInput) as caught:
        manifest.coerce_inputs(["not", "a", "dict"])  # type: ignore[arg-type]
    assert caught.value.field == "inputs"


def test_bundled_example_manifest_loads() -> None:
    from sweatpants.modules.example import example_path

    manifest = Manifest.load(example_path())
    assert manifest.id == "hello"
    assert manifest.coerce_inputs({}) == {"name": "world", "count": 5, "delay": 0.2}
