"""Dependencies point one way: chatsite.realtime ← accounts ← rooms ← messaging.

The real-time infrastructure (event log, kinds, broadcasts, hub) is below every app that emits
events, so none of them needs to import one above it — and no import hides inside a function
to dodge a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each layer may import the ones listed for it (and itself), nothing else of the project's.
ALLOWED = {
    "chatsite.realtime": set(),
    "accounts": {"chatsite.realtime"},
    "rooms": {"chatsite.realtime", "accounts"},
    "messaging": {"chatsite.realtime", "accounts", "rooms"},
}
LAYERS = ("chatsite.realtime", "accounts", "rooms", "messaging")


def layer_of(module: str) -> str | None:
    return next((layer for layer in LAYERS if module == layer or module.startswith(layer + ".")), None)


def project_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, inside a function?) for each import of a project layer in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.append((child.module, in_function))
                found.extend((f"{child.module}.{alias.name}", in_function) for alias in child.names)
            visit(child, nested)

    visit(tree, False)
    return [(module, inside) for module, inside in found if layer_of(module)]


def source_files(layer: str) -> list[Path]:
    folder = ROOT / layer.replace(".", "/")
    return [p for p in folder.rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_the_layers_below_it(layer):
    wrong = []
    for path in source_files(layer):
        for module, inside_function in project_imports(path):
            target = layer_of(module)
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)} imports {module}")
            elif inside_function and target != layer:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} inside a function")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_violation(tmp_path):
    """The walk above finds imports at module level and inside functions."""
    sample = tmp_path / "sample.py"
    sample.write_text("import accounts.models\n\ndef f():\n    from messaging import services\n")
    assert project_imports(sample) == [
        ("accounts.models", False),
        ("messaging", True),
        ("messaging.services", True),
    ]
