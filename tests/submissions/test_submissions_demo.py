"""The demo data: loads, is idempotent, and obeys the same rules as real submissions."""

from __future__ import annotations

import datetime

import time_machine

from demo import schools as schools_demo
from demo import submissions as demo
from submissions import workflow
from submissions.models import Submission, SubmissionStatus, Value


def test_the_demo_loads_once_and_every_submitted_figure_passes_the_rules(db):
    with time_machine.travel(datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC), tick=False):
        schools_demo.load(None)
        first = demo.load(None)
        values = Value.objects.count()
        second = demo.load(None)

    # Periods 2022Q4–2024Q4 without a gap; data for 2022Q4–2023Q4 (all approved) and the current quarter
    # 2024Q1 (a mix: most approved, some submitted, returned or draft, a few not started).
    assert first["periods"] == 9
    assert first["submissions"] > 1700
    assert set(Submission.objects.filter(period__code="2023Q4").values_list("status", flat=True)) == {"approved"}
    current = set(Submission.objects.filter(period__code="2024Q1").values_list("status", flat=True))
    assert current == {"approved", "submitted", "returned", "draft"}
    assert second["submissions"] == 0
    assert Value.objects.count() == values
    # Every demo submission that reached the reviewer is complete, breaks no hard rule, explains its warnings.
    sent = list(Submission.objects.exclude(status=SubmissionStatus.DRAFT).select_related("org_unit", "period"))
    blocking = {snap.submission.org_unit.code: snap.blocking for snap in workflow.snapshots(sent) if snap.blocking}
    assert blocking == {}
    # The scoped figure comes from 东城区 (D01) only; some schools answered 不适用 for boarding, with no value.
    scoped = Value.objects.filter(figure__code="pri_after_school_pupils")
    assert scoped.exists()
    assert not scoped.exclude(submission__org_unit__path__startswith=_path("D01")).exists()
    na = Value.objects.filter(figure__code="pri_boarding_pupils", not_applicable=True)
    assert na.exists()
    assert not na.exclude(value=None).exists()


def _path(code: str) -> str:
    from schools.models import OrgUnit

    return OrgUnit.objects.get(code=code).path


def test_the_demo_rules_have_english_texts_also_when_loaded_before_they_existed(db):
    from submissions.models import ValidationRule

    schools_demo.load(None)
    demo.load(None)
    assert not ValidationRule.objects.filter(name_en="").exists()
    assert not ValidationRule.objects.filter(message_en="").exists()
    # a demo database from before rules had English texts gets them on the next load
    ValidationRule.objects.update(name_en="", message_en="")
    demo.load(None)
    assert ValidationRule.objects.filter(message_en="").count() == 0
    # a rule someone gave texts of their own keeps them
    ValidationRule.objects.filter(code="pop_5_le_3_5").update(name_en="Own name", message_en="Own message")
    demo.load(None)
    assert ValidationRule.objects.get(code="pop_5_le_3_5").message_en == "Own message"
