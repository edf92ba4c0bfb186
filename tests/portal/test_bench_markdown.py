"""``make bench`` rewrites BENCHMARKS.md's table from bench/results.json; the sections measured by hand after the
table (each with its own command) must survive that rewrite."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def load_run_all() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run_all_under_test", ROOT / "bench" / "run_all.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_generated_table_is_replaced_and_hand_written_sections_are_kept(tmp_path, monkeypatch):
    run_all = load_run_all()
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    monkeypatch.setattr(run_all, "machine", lambda: "a test machine")
    (tmp_path / "BENCHMARKS.md").write_text(
        "# Benchmarks\n\n| old | table |\n\n## Notes\n\n- old note\n\n"
        "## Issue 16: by hand\n\nMeasured by hand: 7 s.\n\n## Issue 17: also by hand\n\n| a | b |\n"
    )
    run_all.write_markdown([{"bench": "bench_x", "name": "one", "value": 1.5, "unit": "s", "note": "new note"}])
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| bench_x | one | 1.50 | s |  |" in text
    assert "- bench_x · one: new note" in text
    assert "old note" not in text
    assert "| old | table |" not in text
    assert text.endswith("## Issue 16: by hand\n\nMeasured by hand: 7 s.\n\n## Issue 17: also by hand\n\n| a | b |\n")
