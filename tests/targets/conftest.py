"""Fixtures of the target tests: the plan with targets, values and progress that the report tests build
(tests/reports/conftest.py), shared rather than built twice, and the four quarters of 2023 the progress tests use."""

import datetime

import pytest

from submissions.models import Period
from tests.reports.conftest import report  # noqa: F401  (a fixture: imported to be visible here)


@pytest.fixture
def quarters(db: None) -> list[Period]:
    """2023Q1–Q4, each open, due and locked on its first day (the progress tests judge quarters, not deadlines)."""
    result = []
    for q in range(1, 5):
        start = datetime.date(2023, 3 * q - 2, 1)
        result.append(
            Period.objects.create(code=f"2023Q{q}", year=2023, quarter=q, opens_on=start, due_on=start, locks_on=start)
        )
    return result
