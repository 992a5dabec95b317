"""The library's shape: imports point one way (faces -> pipeline -> control -> notify -> shapes ->
persistence -> models -> engines -> basics, the contracts in pyproject.toml), no package's modules import
each other in a cycle, and no module grows past ~400 lines without saying why at its top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "layers/common/python/mediaflow"
MAX_LINES = 400
REASON = "Longer than"  # a long module's docstring says why, in a sentence starting so


def test_imports_keep_the_layers_and_make_no_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0, \
        "an import breaks the layering or makes a cycle: see the report above"


def test_long_modules_say_why() -> None:
    long = [path.relative_to(LIBRARY).as_posix() for path in sorted(LIBRARY.rglob("*.py"))
            if len(path.read_text().splitlines()) > MAX_LINES
            and REASON not in (ast.get_docstring(ast.parse(path.read_text())) or "")]
    assert long == [], f"modules over {MAX_LINES} lines with no reason at their top: {long}"
