"""Fuzzing figure ranges with an oracle that does not share the product's code.

The other fuzz tests judge a stored value by re-parsing it with ``submissions.validation.parse_value``
(``checks.assert_stored_rows_valid`` and the form test's expected value). That is the function that
enforces a figure's minimum and maximum, so a range check deleted from it goes unnoticed: the broken
parser accepts what it stored. Here the expected outcome comes from the figure's own ``min_value`` /
``max_value`` columns: a number outside the range is refused (400, nothing written) on the API and
on the form, and a number inside it is stored exactly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.test import Client
from hypothesis import example, given, note
from hypothesis import strategies as st

from submissions.models import Figure, Submission, Value
from tests.fuzz.conftest import FuzzWorld, database_state, rolled_back

# pri_classes: 10..20, pri_enrolled: 0..5000, pri_new_entrants: 0.. (default minimum, no maximum)
RANGED = ["pri_classes", "pri_enrolled", "pri_new_entrants"]
numbers = st.integers(-50, 6000) | st.sampled_from([9, 10, 20, 21, -1, 0, 4999, 5000, 5001, 10**9])


def in_range(figure: Figure, value: int) -> bool:
    """The figure's range as the database row states it (independent of submissions.validation)."""
    low, high = figure.min_value, figure.max_value
    return (low is None or Decimal(value) >= low) and (high is None or Decimal(value) <= high)


def stored(submission: Submission, code: str) -> Decimal | None:
    row = Value.objects.filter(submission=submission, figure__code=code).first()
    return None if row is None else row.value


def test_api_refuses_values_outside_the_figures_range_and_stores_those_inside(world: FuzzWorld) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Token {world.tokens['alice']}")
    url = f"/api/v1/submissions/{world.draft.pk}/"

    @example(code="pri_classes", value=21)
    @example(code="pri_classes", value=9)
    @example(code="pri_enrolled", value=5001)
    @given(code=st.sampled_from(RANGED), value=numbers)
    def run(code: str, value: int) -> None:
        figure = world.figures[code]
        note(f"{code}={value} (range {figure.min_value}..{figure.max_value})")
        with rolled_back():
            before = database_state()
            body = {"version": world.draft.version, "values": {code: value}}
            response = client.patch(url, json.dumps(body), content_type="application/json")
            if in_range(figure, value):
                assert response.status_code == 200, (response.status_code, response.content[:300])
                assert stored(world.draft, code) == Decimal(value)
            else:
                assert response.status_code == 400, (
                    f"{code}={value} is outside {figure.min_value}..{figure.max_value} but the API answered "
                    f"{response.status_code}; stored {stored(world.draft, code)}"
                )
                assert code in response.json()["errors"], response.json()
                assert database_state() == before, "a refused value changed the database"

    run()


def test_form_refuses_values_outside_the_figures_range(client: Client, world: FuzzWorld) -> None:
    client.force_login(world.users.alice)
    url = f"/submissions/{world.draft.pk}/"
    current: dict[str, Any] = {
        f"v_{v.figure.code}": format(v.value, "f") for v in Value.objects.filter(submission=world.draft)
    }

    @example(code="pri_classes", value=21)
    @example(code="pri_enrolled", value=5001)
    @given(code=st.sampled_from(RANGED), value=numbers)
    def run(code: str, value: int) -> None:
        figure = world.figures[code]
        note(f"{code}={value} (range {figure.min_value}..{figure.max_value})")
        with rolled_back():
            before = database_state()
            post = {**current, f"v_{code}": str(value), "version": str(world.draft.version), "op": "save"}
            response = client.post(url, post)
            if in_range(figure, value):
                assert response.status_code == 302, response.status_code
                assert stored(world.draft, code) == Decimal(value)
            else:
                assert response.status_code == 400, (
                    f"{code}={value} is outside {figure.min_value}..{figure.max_value} but the form answered "
                    f"{response.status_code}; stored {stored(world.draft, code)}"
                )
                assert database_state() == before, "a refused value changed the database"

    run()
