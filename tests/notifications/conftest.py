"""Notification tests reuse the submissions fixtures (figures, 2022Q4 and 2023Q1, a frozen clock) and the reports
fixtures (a plan with off-track targets) — never both in one test: both create 2023 quarters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifications import services
from tests.reports.conftest import report  # noqa: F401  (fixture)
from tests.submissions.conftest import clock, setup  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _webhook_not_paused() -> Iterator[None]:
    """Each test starts with the chat webhook not paused by an earlier test's failure."""
    services._webhook_paused_until.clear()
    yield
    services._webhook_paused_until.clear()
