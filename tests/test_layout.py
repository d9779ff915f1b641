"""The layout is the architecture: each sub-package imports only the layers below it (function-
local imports included), modules inside a package import each other without a circle, and no
module is over 400 lines. ARCHITECTURE.md draws the same layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sandbox"
# Lowest first; a layer may import any layer before it. sim and live share a floor: neither may
# import the other. The package root (sandbox/__init__.py) only hands names on.
LAYERS = [
    {"errors", "lazy"},
    {"core", "data"},
    {"sim", "live"},
    {"flow"},
    {"args"},
    {"experiment"},
    {"dashboard"},
    {"quiz", "quizzes"},
    {"lesson"},
    {"classroom"},
    {"course"},
    {"cli"},
    {"__main__"},
]
MAX_LINES = 400


def part_of(module: str) -> str:
    """`sandbox.core.faults` -> `core`; `sandbox.errors` -> `errors`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every `sandbox...` module `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sandbox"):
            for alias in node.names:  # `from sandbox.quiz import widget` imports a module
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sandbox")}
    return found


MODULES = modules()
EDGES = {name: imports(path, MODULES) for name, path in MODULES.items()}


@pytest.mark.parametrize("name", sorted(n for n in MODULES if part_of(n) != "__init__"))
def test_a_module_imports_only_lower_layers(name):
    mine = floor(part_of(name))
    upward = sorted(
        target
        for target in EDGES[name]
        if part_of(target) != "__init__"
        and part_of(target) != part_of(name)
        and floor(part_of(target)) >= mine
    )
    assert not upward, f"{name} imports {upward}: not below it (see ARCHITECTURE.md)"


def test_no_modules_import_each_other_in_a_circle():
    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in EDGES.get(todo.pop(), ()):
                if target in MODULES and target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    circles = sorted(n for n in MODULES if n in reach(n) and not n.endswith("__init__"))
    assert not circles, f"modules on an import circle: {circles}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_400_lines(name):
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines; split it by job"


def test_every_package_and_its_files_are_installed():
    """pyproject.toml lists every package of the source tree, and the static files of those
    that serve pages, so that an installed wheel has what the source tree has."""
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(path.parent.relative_to(PACKAGE.parent).parts)
        for path in PACKAGE.rglob("__init__.py")
    }
    assert set(project["packages"]) - {"sandbox.quizzes"} == found
    for static in PACKAGE.rglob("static"):
        package = ".".join(static.parent.relative_to(PACKAGE.parent).parts)
        assert "static/*" in project["package-data"][package], package
