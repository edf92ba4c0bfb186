"""The indicator engine's benchmark data: ``generate_dataset`` tree + ~30 figures × 4 quarters of approved values.

On top of the lead's synthetic tree (org units only) this writes, with set-based inserts:

- 30 figures: the demo's figure codes the standard indicators read (flow and stock), plus filler
  figures so each submission carries 30 values, as a real quarterly form does;
- periods 2023Q1–2023Q4;
- one approved submission per school per quarter, with a value for every school figure
  (deterministic pseudo-random numbers from the ids, realistic magnitudes), and one per district
  with the population figures (reported at district level);
- designation kinds 标准化幼儿园 / 示范幼儿园 (granted at four levels) / 义务教育管理标准化学校 and their grants
  (about one kindergarten in eight and one primary school in twelve, spread over 2023, a few revoked), so the
  demo's four designation-count indicators — one of them counting only provincial grants — are installed;
- the standard indicators of ``demo.indicators``: every kind the engine computes (ratios, sums, max,
  count-where, the three 校际差异系数 cv indicators and the designation counts).

``build()`` is idempotent: the values are written once; the designations and indicators are brought up to date on
every call (a database built before they were added gets them).
"""

from __future__ import annotations

import datetime

from django.db import connection, transaction
from django.utils import timezone

# code, time aggregation, reported at district level?, (low, high) — realistic magnitudes per unit.
FIGURES: list[tuple[str, str, bool, tuple[int, int]]] = [
    ("kg_enrolled", "stock", False, (60, 400)),
    ("kg_enrolled_senior", "stock", False, (20, 130)),
    ("kg_new_entrants", "flow", False, (0, 40)),
    ("kg_new_entrants_migrant", "flow", False, (0, 8)),
    ("pri_new_entrants", "flow", False, (0, 60)),
    ("pri_new_entrants_migrant", "flow", False, (0, 12)),
    ("pri_new_entrants_ontime", "flow", False, (0, 58)),
    ("pri_enrolled", "stock", False, (80, 2600)),
    ("pri_graduates", "flow", False, (0, 60)),
    ("pri_cohort_entrants", "flow", False, (0, 62)),
    ("pri_transfers_in", "flow", False, (0, 6)),
    ("pri_transfers_out", "flow", False, (0, 6)),
    ("pri_classes_over_55", "stock", False, (0, 3)),
    ("pri_grade1_max_class_size", "stock", False, (28, 58)),
    ("special_enrolled_disabled", "stock", False, (0, 5)),
    ("central_joint_research", "flow", False, (0, 3)),
    ("central_quality_monitoring", "flow", False, (0, 2)),
    ("pop_age_3_5", "stock", True, (9000, 30000)),
    ("pop_age_5", "stock", True, (3000, 10000)),
    ("pop_age_6", "stock", True, (3000, 10000)),
    ("pop_disabled_school_age", "stock", True, (60, 250)),
    # read by the demo's three 校际差异系数 (cv) indicators
    ("pri_classes", "stock", False, (4, 60)),
    ("pri_boarding_pupils", "stock", False, (0, 400)),
    ("pri_library_books_added", "flow", False, (0, 800)),
] + [(f"bench_filler_{i:02d}", "flow" if i % 2 else "stock", False, (0, 500)) for i in range(1, 7)]
YEAR = 2023


def _figure_ids() -> dict[str, int]:
    from submissions.models import Figure

    for code, agg, _district, _range in FIGURES:
        Figure.objects.get_or_create(code=code, defaults={"name": code, "time_aggregation": agg})
    return dict(Figure.objects.filter(code__in=[f[0] for f in FIGURES]).values_list("code", "pk"))


def _periods() -> list[int]:
    from submissions.models import Period

    ids = []
    for quarter in range(1, 5):
        start = datetime.date(YEAR, 3 * quarter - 2, 1)
        period, _ = Period.objects.get_or_create(
            year=YEAR,
            quarter=quarter,
            defaults={
                "code": Period.code_for(YEAR, quarter),
                "opens_on": start,
                "due_on": start + datetime.timedelta(days=20),
                "locks_on": start + datetime.timedelta(days=40),
            },
        )
        ids.append(period.pk)
    return ids


# kind code, name, levels, school types it is granted to, one unit in every …
DESIGNATION_KINDS: list[tuple[str, str, list[str], list[str], int]] = [
    ("standard_kg", "标准化幼儿园", [], ["kindergarten"], 8),
    ("model_kg", "示范幼儿园", ["national", "province", "city", "county"], ["kindergarten"], 9),
    ("standard_school", "义务教育管理标准化学校", [], ["primary", "nine_year"], 12),
]


def _designations() -> int:
    """The kinds the demo's designation-count indicators read, and grants of them (idempotent)."""
    from schools.models import Designation, DesignationKind, OrgUnit

    grants: list[Designation] = []
    for code, name, levels, school_types, every in DESIGNATION_KINDS:
        kind, _ = DesignationKind.objects.get_or_create(code=code, defaults={"name": name, "levels": levels})
        if Designation.objects.filter(kind=kind).exists():
            continue
        units = OrgUnit.objects.filter(level="school", school_type__in=school_types).order_by("pk")
        for i, pk in enumerate(units.values_list("pk", flat=True)):
            if i % every:
                continue
            n = i // every
            granted = datetime.date(YEAR, 1 + n % 12, 1 + n % 28)
            revoked = granted + datetime.timedelta(days=60) if n % 17 == 0 else None
            level = levels[n % len(levels)] if levels else ""
            grants.append(Designation(org_unit_id=pk, kind=kind, level=level, granted_on=granted, revoked_on=revoked))
    Designation.objects.bulk_create(grants, batch_size=5000, ignore_conflicts=True)
    return len(grants)


@transaction.atomic
def build(stdout: object = None) -> dict[str, int]:
    """Submissions and values for every school (and district) of the tree; returns row counts."""
    from demo import indicators as demo
    from submissions.models import Submission, Value

    figure_ids = _figure_ids()
    period_ids = _periods()
    _designations()
    if Value.objects.exists():
        demo.load(None)
        return {"values": Value.objects.count(), "submissions": Submission.objects.count()}
    now = timezone.now()
    with connection.cursor() as cursor:
        # One approved submission per reporting unit (schools and districts) and quarter.
        cursor.execute(
            "INSERT INTO submissions_submission (org_unit_id, period_id, status, version, is_zero_report, "
            "explanations, return_reason, reopen_reason, approved_at, created_at, updated_at) "
            "SELECT u.id, p.id, 'approved', 1, false, '{}', '', '', %s, %s, %s FROM schools_orgunit u "
            "CROSS JOIN submissions_period p WHERE u.level IN ('school', 'district') AND p.id = ANY(%s)",
            [now, now, now, period_ids],
        )
        # Values: deterministic pseudo-random numbers in each figure's range, from (submission, figure);
        # kindergartens report kg_ figures, primary schools pri_, central schools central_, all the fillers.
        # Computed figure by figure into a temporary table, then stored in (submission, figure) order: the form and
        # the Excel import write a submission's values together (``submissions.workflow.save_values``), so a unit's
        # values lie on a few adjacent pages, as here. Stored figure by figure (until 2026-12-05) each submission's
        # values lay on ~14 pages far apart, and every read of one unit's values — an approval's, one district's in
        # the nightly run — read 14 pages where production reads one or two (issue 17, BENCHMARKS.md).
        cursor.execute(
            "CREATE TEMP TABLE bench_values (submission_id bigint, figure_id bigint, value numeric) ON COMMIT DROP"
        )
        for code, _agg, at_district, (low, high) in FIGURES:
            who = "u.level = 'school'"
            if at_district:
                who = "u.level = 'district'"
            elif code.startswith("kg_"):
                who = "u.school_type = 'kindergarten'"
            elif code.startswith("pri_"):
                who = "u.school_type IN ('primary', 'nine_year')"
            elif code.startswith("central_"):
                who = "u.is_central"
            cursor.execute(
                "INSERT INTO bench_values (submission_id, figure_id, value) "
                "SELECT s.id, %s, %s + ((s.id * 7919 + %s * 104729) %% %s) "
                f"FROM submissions_submission s JOIN schools_orgunit u ON u.id = s.org_unit_id WHERE {who}",
                [figure_ids[code], low, figure_ids[code], high - low + 1],
            )
        cursor.execute(
            "INSERT INTO submissions_value (submission_id, figure_id, value, not_applicable, updated_at) "
            "SELECT submission_id, figure_id, value, FALSE, %s FROM bench_values ORDER BY submission_id, figure_id",
            [now],
        )
        cursor.execute("ANALYZE")
    demo.load(None)
    return {"values": Value.objects.count(), "submissions": Submission.objects.count()}
