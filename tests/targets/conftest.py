"""Fixtures of the target page tests: the plan with targets, values and progress that the report tests
build (tests/reports/conftest.py), shared rather than built twice."""

from tests.reports.conftest import report  # noqa: F401  (a fixture: imported to be visible here)
