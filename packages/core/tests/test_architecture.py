"""The shape of the code itself: core's import graph has no cycle, and plugins use only core's public names.

Both tests read source with :mod:`ast` (nothing is imported), so they see every import: at module
level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2]
CORE_SRC = PACKAGES / "core" / "src"


def _modules(src: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``package`` under ``src``."""
    out = {}
    for path in sorted((src / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: Path, module: str) -> Iterator[tuple[str, str | None, int]]:
    """``(imported module, imported name or None, line)`` for every import statement in ``path``."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name, node.lineno


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Edges between core's modules. ``from pkg import name`` is an edge to ``pkg.name`` when that is
    a module (Python imports the submodule), else to ``pkg``. The implicit import of a module's parent
    packages is not an edge: every module has it, and a package face may re-export its submodules."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        for target, name, _ in _imports(path, module):
            if name is not None and f"{target}.{name}" in modules:
                target = f"{target}.{name}"
            if target in modules and target != module:
                graph[module].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, ..., a]``, or None (iterative DFS)."""
    state: dict[str, int] = {}
    for root in sorted(graph):
        if root in state:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def test_core_has_no_import_cycle() -> None:
    modules = _modules(CORE_SRC, "forge.core")
    cycle = _cycle(_graph(modules))
    assert cycle is None, "import cycle in forge-core: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from p.b import B\n")
    (pkg / "b.py").write_text("def f():\n    from p import a\n")
    graph = _graph(_modules(tmp_path, "p"))
    assert graph["p.a"] == {"p.b"} and graph["p.b"] == {"p.a"}
    assert _cycle(graph) == ["p.a", "p.b", "p.a"]


def _is_private(dotted: str) -> bool:
    return any(part.startswith("_") for part in dotted.split("."))


@pytest.mark.parametrize("package", ["vision", "nlp", "graph", "diffusion", "serve"])
def test_plugins_import_only_public_core_names(package: str) -> None:
    """A plugin names only forge-core modules without an underscore segment, and only names in their ``__all__``."""
    src = PACKAGES / package / "src"
    core_modules = _modules(CORE_SRC, "forge.core")
    problems = []
    for module, path in _modules(src, f"forge.{package}").items():
        for target, name, line in _imports(path, module):
            if not target.startswith("forge.core") and not (target == "forge" and name == "core"):
                continue
            where = f"{path.relative_to(PACKAGES)}:{line}"
            if _is_private(target):
                problems.append(f"{where}: imports private module {target}")
                continue
            if name is None or name == "*":
                continue
            exported = getattr(importlib.import_module(target), "__all__", None)
            if exported is None or name not in exported:
                if f"{target}.{name}" in core_modules and not name.startswith("_"):
                    continue
                problems.append(f"{where}: {name} is not in {target}.__all__")
    assert not problems, "\n".join(problems)


# The floors of forge-core, lowest first: a module may import its own floor and the floors below.
# docs/architecture.md draws the same picture; change both together.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("errors", "_deprecated"),
    ("_atomic", "_digest", "_lazy", "_logging", "_run_files", "config", "hookspecs"),
    ("_plugins", "_checkpoint", "_reproducibility"),
    ("_registry", "_plugin", "testing", "_doctor"),
    ("models", "losses", "metrics", "optim", "data", "distributed"),
    ("_run", "trainer", "tracking"),
    ("_recipe",),
    ("_runner", "evaluator", "export", "compress", "hub", "sweep"),
    ("cli", "recipes", ""),  # "" is the face, forge/core/__init__.py
)


def _unit(module: str) -> str:
    """The first name below ``forge.core`` (a module or a subpackage); ``""`` for the face itself."""
    return module.split(".")[2] if module.count(".") >= 2 else ""


def test_core_imports_only_downwards() -> None:
    floor_of = {unit: i for i, units in enumerate(FLOORS) for unit in units}
    modules = _modules(CORE_SRC, "forge.core")
    assert {_unit(m) for m in modules} <= set(floor_of), "a new top-level module of core needs a floor in FLOORS"
    upward = [
        f"{a} (floor {floor_of[_unit(a)]}) imports {b} (floor {floor_of[_unit(b)]})"
        for a, targets in _graph(modules).items()
        for b in targets
        if floor_of[_unit(b)] > floor_of[_unit(a)]
    ]
    assert not upward, "\n".join(upward)
