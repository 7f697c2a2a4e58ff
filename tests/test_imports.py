"""The package's modules import without a circle, each in a fresh interpreter."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "dicom2ion"
def _name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("dicom2ion",) + parts)


MODULES = sorted(_name(p) for p in PACKAGE.rglob("*.py")
                 if p.name != "__main__.py" and not p.name.startswith(("_standard", "_private")))


@pytest.mark.parametrize("module", ["dicom2ion.ion.source", "dicom2ion.ion.document",
                                    "dicom2ion.p10.wire", "dicom2ion.listing"])
def test_fresh_interpreter_imports(module):
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _imports(module: str) -> set:
    """Package modules that ``module`` imports at its top level."""
    path = PACKAGE.joinpath(*module.split(".")[1:])
    is_package = path.is_dir()
    path = path / "__init__.py" if is_package else path.with_suffix(".py")
    package = module if is_package else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.parse(path.read_text()).body:
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = package.split(".")
            base = base[:len(base) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
        elif (node.module or "").startswith("dicom2ion"):
            target = node.module
        else:
            continue
        for alias in node.names:
            # "from X import m" imports module X.m; "from X import name" runs X
            out.add(target + "." + alias.name if target + "." + alias.name in MODULES
                    else target)
    out.discard(module)
    return {m for m in out if m in MODULES}


def test_no_import_circle_among_modules():
    graph = {m: _imports(m) for m in MODULES}
    assert graph["dicom2ion.ion.source"], "the import graph is not being read"
    state: dict = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", " -> ".join(trail + [node])
        state[node] = "open"
        for nxt in sorted(graph[node]):
            visit(nxt, trail + [node])
        state[node] = "done"

    for module in MODULES:
        visit(module, [])
    assert "dicom2ion._version" in graph["dicom2ion.ion.source"]
