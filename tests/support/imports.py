"""What imports what inside the `sweatpants` package, read from the source (AST), so imports
inside functions (the lazy ones) count too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "sweatpants"


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (`sweatpants.jobs.runner`)."""
    found: dict[str, Path] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        if "__pycache__" in path.parts:
            continue
        parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported_names(name: str, path: Path) -> set[str]:
    """Every module name `path` imports, anywhere in it (absolute, dotted)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                kept = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*kept, base] if base else kept)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (each with the packages above it, whose
    `__init__` runs first)."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        targets: set[str] = set()
        for imported in imported_names(name, path):
            parts = imported.split(".")
            for end in range(1, len(parts) + 1):
                prefix = ".".join(parts[:end])
                if prefix in files and prefix != name:
                    targets.add(prefix)
        graph[name] = targets
    return graph


def reachable(graph: dict[str, set[str]], starts: list[str]) -> set[str]:
    """Every module importing `starts` can load (with the packages above each)."""
    seen: set[str] = set()
    todo = list(starts)
    for _ in range(len(graph) * 2 + len(starts)):
        if not todo:
            break
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:end]) for end in range(1, len(parts)))
        todo.extend(graph.get(name, ()))
    return seen


def cycles(graph: dict[str, set[str]], within: set[str]) -> list[list[str]]:
    """Import cycles among the modules `within` (a module's own package excepted: a package
    importing its submodules is how packages work)."""
    edges = {
        name: {t for t in graph[name] if t in within and not name.startswith(t + ".")}
        for name in within
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(edges[name]):
            if state.get(target) == 1:
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(within):
        if name not in state:
            visit(name, [name])
    return found
