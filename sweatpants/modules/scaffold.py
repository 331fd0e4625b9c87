"""`sweatpants module new`: write a working module folder from a template.

Templates live in `templates/<name>/` beside this file as `*.tmpl` files (so the package's
linters and type checker never read them as code); `{{id}}`, `{{name}}`, `{{class_name}}`,
`{{about}}` and `{{example}}` are filled in. Each template gives module.json, main.py (with a
checkpoint and progress), README.md and test_module.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from sweatpants.errors import Conflict, InvalidInput
from sweatpants.modules.ids import module_id_problem

TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATES = ("basic", "browser", "proxy")
ABOUT = {
    "basic": "counts to a number, one result per step, resuming where it stopped.",
    "browser": "opens pages in a browser and reports their titles.",
    "proxy": "fetches pages through the configured proxy.",
}
EXAMPLE = {
    "basic": "-i count=3",
    "browser": "-i urls=http://127.0.0.1:8420/ui/",
    "proxy": "-i urls=http://127.0.0.1:8420/status",
}


def class_name(module_id: str) -> str:
    """`price-watch` → `PriceWatch` (a valid Python class name)."""
    words = [word for word in re.split(r"[^A-Za-z0-9]+", module_id) if word]
    name = "".join(word[:1].upper() + word[1:] for word in words) or "MyModule"
    return name if name[0].isalpha() else f"Module{name}"


def display_name(module_id: str) -> str:
    """`price-watch` → `Price watch`."""
    words = [word for word in re.split(r"[-_.]+", module_id) if word]
    text = " ".join(words) or module_id
    return text[:1].upper() + text[1:]


def new_module(folder: Path, module_id: str, template: str = "basic") -> list[Path]:
    """Write the module `module_id` into `folder` (made; it must not hold files already).
    Returns the files written."""
    problem = module_id_problem(module_id)
    if problem is not None:
        raise InvalidInput(f"NAME: {problem}", field="NAME")
    if template not in TEMPLATES:
        raise InvalidInput(
            f"--template: {template!r} is not a template; use one of {', '.join(TEMPLATES)}",
            field="template",
        )
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise Conflict(f"{folder} already exists and is not empty; choose another NAME or --dir")
    values = {
        "id": module_id,
        "name": display_name(module_id),
        "class_name": class_name(module_id),
        "about": ABOUT[template],
        "example": EXAMPLE[template],
    }
    sources = sorted((TEMPLATES_DIR / template).glob("*.tmpl"))
    sources.append(TEMPLATES_DIR / "README.md.tmpl")
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        target = folder / source.name.removesuffix(".tmpl")
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
