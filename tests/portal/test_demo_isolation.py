"""The product never imports the demo app: only demo/ itself, the tests and the benchmarks may."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
# Folders that are not product code.
ALLOWED = {"demo", "tests", "bench", ".venv", "node_modules"}


def demo_imports(source: str) -> list[int]:
    """Line numbers of the statements in ``source`` that import ``demo`` or one of its modules."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        if any(name == "demo" or name.startswith("demo.") for name in names):
            lines.append(node.lineno)
    return lines


def test_the_finder_sees_both_import_forms() -> None:
    source = "import demo.schools\nfrom demo import plans\nfrom demography import x\nimport demonstrate\n"
    assert demo_imports(source) == [1, 2]


def test_no_product_module_imports_the_demo() -> None:
    found = []
    for path in sorted(BASE_DIR.rglob("*.py")):
        relative = path.relative_to(BASE_DIR)
        if relative.parts[0] in ALLOWED or relative.parts[0].startswith("."):
            continue
        found += [f"{relative}:{line}" for line in demo_imports(path.read_text(encoding="utf-8"))]
    assert found == []
    assert "demo" in settings.INSTALLED_APPS  # `load_demo` is found through the app, not through an import
