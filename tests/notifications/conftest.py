"""Notification tests reuse the submissions fixtures (figures, 2022Q4 and 2023Q1, a frozen clock) and the reports
fixtures (a plan with off-track targets) — never both in one test: both create 2023 quarters."""

from __future__ import annotations

from tests.reports.conftest import report  # noqa: F401  (fixture)
from tests.submissions.conftest import clock, setup  # noqa: F401  (fixtures)
