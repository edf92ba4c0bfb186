"""Bandit finds no medium or high severity issue in the app code (the same command CI runs, per package).

A false positive is marked on its line with ``# nosec BXXX``; ``.bandit.yml`` skips no test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
BANDIT = Path(sys.executable).parent / "bandit"
PACKAGES = ["portal", "schools", "submissions", "indicators", "plans", "targets", "reports", "demo"]


def findings(*packages: str) -> list[str]:
    """Bandit's medium and high findings in the given folders, one ``file:line test severity: text`` each."""
    result = subprocess.run(  # noqa: S603  (bandit from our venv, fixed arguments, no shell)
        [str(BANDIT), "-r", *packages, "-c", ".bandit.yml", "-ll", "-f", "json", "-q"],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert not report["errors"], report["errors"]
    return [
        f"{item['filename']}:{item['line_number']} {item['test_id']} {item['issue_severity']}: {item['issue_text']}"
        for item in report["results"]
    ]


@pytest.fixture(scope="session")
def findings_by_package() -> dict[str, list[str]]:
    """One bandit run over every package (it starts slowly), its findings split by package."""
    found = findings(*PACKAGES)
    return {package: [item for item in found if item.startswith(f"{package}/")] for package in PACKAGES}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_medium_or_high_bandit_findings(package: str, findings_by_package: dict[str, list[str]]) -> None:
    assert findings_by_package[package] == []


def test_bandit_would_report_an_sql_injection(tmp_path: Path) -> None:
    # The control case: the configuration does not silence the check the app code relies on.
    (tmp_path / "probe.py").write_text(
        "def f(cursor, name):\n    cursor.execute(f\"SELECT * FROM t WHERE name = '{name}'\")\n"
    )
    found = findings(str(tmp_path))
    assert any("probe.py:2 B608" in item for item in found), found
