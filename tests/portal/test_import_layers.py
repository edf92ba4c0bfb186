"""The import structure holds (docs/architecture.md): apps depend downward only — portal → schools → submissions →
indicators → plans → targets → reports — and no two modules of an app import each other. The contracts live in
pyproject.toml ([tool.importlinter]); a new upward import or cycle fails here, naming the line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_are_kept(capsys: pytest.CaptureFixture[str]) -> None:
    previous = os.getcwd()
    os.chdir(ROOT)
    try:
        code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True, no_logo=True)
    finally:
        os.chdir(previous)
    report = capsys.readouterr().out
    assert code == 0, report
