"""The package layout: stages import only downward, no import cycles, small modules.

Every ``import`` and ``from ... import`` in ``pipeline/`` counts, inside functions too, so a
cycle cannot hide behind a deferred import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pipeline"

CORE = {"core"}  # pipeline/__init__.py, config.py, schemas.py, private_files.py
# What each stage may import besides itself (DESIGN.md section 2: a stage imports only the
# stages before it and the shared core).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "ingest": CORE,
    "nlp": CORE,
    "store": CORE,
    "model": CORE,
    "sessions": CORE | {"model"},
    "report": CORE | {"model", "sessions"},
    "export": CORE | {"model", "sessions", "store", "report"},
    "steps": CORE | {"ingest", "nlp", "model", "sessions", "store", "report", "export"},
    "training": CORE | {"ingest", "nlp", "model", "sessions", "store", "report", "export", "steps"},
    "flows": CORE
    | {"ingest", "nlp", "model", "sessions", "store", "report", "export", "steps", "training"},
    "deploy": CORE | {"flows"},
    "cli": set(),  # checked below: the command line may import every stage
    "__main__": {"cli"},
}
ALLOWED["cli"] = set(ALLOWED) - {"cli", "__main__"}
MAX_LINES = 500
MAX_FLAT_MODULES = 10


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def stage(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("config", "schemas", "private_files"):
        return "core"
    return parts[1]


def imports_of(module: str) -> set[str]:
    """The package's modules that ``module`` imports."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                if f"{source}.{alias.name}" in MODULES:
                    found.add(f"{source}.{alias.name}")
                elif source in MODULES:
                    found.add(source)
    return found - {module}


GRAPH = {module: imports_of(module) for module in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_layout_finds_a_cycle_when_there_is_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_layout_reads_the_imports():
    # The walk must see the package's real edges, or every check below passes vacuously.
    assert "pipeline.model.network" in GRAPH["pipeline.model.engine"]
    assert "pipeline.store.core" in GRAPH["pipeline.steps"]
    assert len(MODULES) > 40


def test_layout_has_no_import_cycle():
    assert find_cycle(GRAPH) is None, f"import cycle: {' -> '.join(find_cycle(GRAPH))}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layout_stage_imports_only_downward(module):
    source = stage(module)
    upward = sorted(
        target
        for target in GRAPH[module]
        if stage(target) != source and stage(target) not in ALLOWED[source]
    )
    assert not upward, f"{module} ({source}) imports {upward}; allowed: {sorted(ALLOWED[source])}"


def test_layout_knows_every_stage():
    assert {stage(module) for module in MODULES} <= set(ALLOWED)


def test_layout_files_are_small():
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines: {long}"


def test_layout_few_flat_modules():
    flat = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(flat) <= MAX_FLAT_MODULES, flat


def test_layout_every_subpackage_says_what_it_owns():
    for init in PACKAGE.glob("*/__init__.py"):
        docstring = ast.get_docstring(ast.parse(init.read_text())) or ""
        if init.parent.name in ("cli",):
            assert docstring, f"{init} has no docstring"
            continue
        assert "May import" in docstring, f"{init}'s docstring does not say what it may import"
