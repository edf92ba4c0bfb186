"""The typed progress detail: what is stored, and how rows of any version are read back."""

from __future__ import annotations

from typing import Any

from targets.progress_detail import (
    BEFORE_ASSESSMENT,
    CURRENT_VERSION,
    ProgressDetail,
    before_assessment_q,
    contribution_q,
    from_json,
)


def test_only_the_keys_that_apply_are_stored_with_the_version() -> None:
    assert ProgressDetail(reason="no_indicator").to_json() == {"version": CURRENT_VERSION, "reason": "no_indicator"}
    assert ProgressDetail().to_json() == {"version": CURRENT_VERSION}
    # An empty failing list is a fact (checked, none fails), not an absent key.
    assert ProgressDetail(failing_units=[], failing_count=0, units_checked=3).to_json() == {
        "version": CURRENT_VERSION, "failing_units": [], "failing_count": 0, "units_checked": 3,
    }  # fmt: skip


def test_a_milestone_without_a_due_date_says_so() -> None:
    stored = ProgressDetail(milestone_status="in_progress", overdue=False, notes=[], evidence_count=0).to_json()
    assert stored["due_date"] is None
    assert "due_date" not in ProgressDetail(reason="no_target_value").to_json()


def test_a_detail_reads_back_as_written() -> None:
    detail = ProgressDetail(
        failing_units=[{"code": "S2", "name": "东区第二小学", "value": 1.0}],
        failing_count=250,
        units_qualifying=300,
        units_complying=50,
        per_unit_minimum=2.0,
        semester="H1",
        sub_targets=[{"code": "T02", "actual": 600.0, "status": "on_track"}],
        judged_by="projection",
    )
    assert from_json(detail.to_json()) == detail
    assert (detail.failing_total, detail.checked) == (250, 300)


def test_a_row_written_before_the_version_reads_as_version_one() -> None:
    old = from_json({"reason": BEFORE_ASSESSMENT, "assess_from": "2023Q3", "contribution": True})
    assert (old.version, old.before_assessment_from, old.is_contribution) == (1, "2023Q3", True)
    assert old.to_json()["version"] == 1


def test_the_failing_count_falls_back_to_the_list_when_absent() -> None:
    detail = from_json({"failing_units": [{"code": "S1"}, "S2"], "units_checked": 4})
    assert detail.failing_units == [{"code": "S1"}, {"code": "S2"}]
    assert (detail.failing_total, detail.checked) == (2, 4)


def test_a_key_nothing_writes_is_not_read_as_failing_units() -> None:
    detail = from_json({"failing": [{"code": "S1"}]})
    assert detail.failing_units is None
    assert detail.failing_total == 0


def test_anything_stored_reads_without_error() -> None:
    raws: tuple[Any, ...] = (None, [], "text", 3, {"version": "2"}, {"version": True}, {"version": -1})
    for raw in raws:
        assert from_json(raw).version == 1
    garbled = from_json(
        {"reason": 5, "failing_count": True, "failing_units": "S1", "units": [None, 7, {"name": "no code"}],
         "notes": ["x", {"id": 1}], "overdue": "yes"}
    )  # fmt: skip
    assert garbled.reason is None
    assert garbled.failing_count is None
    assert garbled.failing_units is None
    assert garbled.units == []
    assert garbled.notes == [{"id": 1}]
    assert garbled.overdue is None


def test_a_newer_version_keeps_its_version_and_unknown_keys() -> None:
    newer = from_json({"version": CURRENT_VERSION + 1, "reason": "no_indicator", "weight": 0.5})
    assert (newer.version, newer.reason) == (CURRENT_VERSION + 1, "no_indicator")
    assert newer.to_json() == {"version": CURRENT_VERSION + 1, "reason": "no_indicator", "weight": 0.5}


def test_the_database_lookups_name_the_stored_keys() -> None:
    assert contribution_q().children == [("detail__contribution", True)]
    assert before_assessment_q("progress__").children == [("progress__detail__reason", BEFORE_ASSESSMENT)]
