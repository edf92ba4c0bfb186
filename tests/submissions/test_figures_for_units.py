"""Issue 17: a page of the submissions API evaluates the reporting rule once per unit profile, not once per row.

``reporting.figures_for_units`` must give exactly what ``figures_for_unit`` gives for each (unit, period) pair,
including figures limited to regions (``within``) and to periods; and the API list's ``figures`` of each
submission equal its detail's.
"""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from submissions.models import Period
from submissions.reporting import active_figures, figures_for_unit, figures_for_units
from tests.submissions.conftest import make_period, make_submission
from tests.submissions.test_scoped_figures_query_count import add_scoped_figures


def test_figures_for_units_equals_the_rule_for_every_unit_and_period(tree: Any, setup: Any) -> None:
    make_period(2023, 2)
    add_scoped_figures(tree, setup, 0, 18)
    figures = active_figures()
    periods = list(Period.objects.all())
    units = [tree.city, tree.d1, tree.d2, tree.t1, tree.s1, tree.s2, tree.k1, tree.s3, tree.k2]
    pairs = [(unit, period) for period in [*periods, None] for unit in units]
    together = figures_for_units(pairs, figures)
    one_by_one = [figures_for_unit(unit, figures, period) for unit, period in pairs]
    assert [[f.code for f in row] for row in together] == [[f.code for f in row] for row in one_by_one]
    # The regional figures really split units of the same kind: S1 (district 1) and S3 (district 2) differ.
    codes = {
        (unit.code, period.pk if period else None): {f.code for f in row}
        for (unit, period), row in zip(pairs, together, strict=True)
    }
    q1 = setup.q1.pk
    assert "scoped_0" in codes[("S1", q1)]
    assert "scoped_0" not in codes[("S3", q1)]


def test_the_api_list_gives_each_submission_the_figures_of_its_detail(tree: Any, setup: Any, users: Any) -> None:
    make_period(2023, 2)
    add_scoped_figures(tree, setup, 0, 9)
    for unit in (tree.s1, tree.s2, tree.k1, tree.s3, tree.k2):
        make_submission(unit, setup.q1)
        make_submission(unit, setup.q4)
    api = APIClient()
    api.force_authenticate(users.bea)
    listed = api.get("/api/v1/submissions/", {"limit": "100"}).json()["results"]
    assert len(listed) == 10
    for row in listed:
        detail = api.get(f"/api/v1/submissions/{row['id']}/").json()
        assert row["figures"] == detail["figures"]
    assert len({tuple(f["code"] for f in row["figures"]) for row in listed}) > 2
