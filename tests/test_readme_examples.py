"""README's Python examples marked ``# run from the repository root`` run
as written (from a copy of the fixtures, in a temporary folder)."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import FIXTURES, ROOT

_BLOCK = re.compile(r"```python\n(# run from the repository root\n.*?)```", re.S)


def _examples():
    return _BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_has_runnable_examples():
    assert len(_examples()) >= 3


@pytest.mark.parametrize("code", _examples(), ids=lambda c: c.splitlines()[3][:40])
def test_readme_example_runs(code, tmp_path, monkeypatch):
    shutil.copytree(FIXTURES, tmp_path / "fixtures")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
