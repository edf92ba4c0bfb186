"""The fuzzers' snapshot (``database_state``) sees every kind of change a request could make.

The fuzz properties ("a 4xx changed nothing", "a 2xx stored only valid rows") are only as good as this snapshot,
which reads every data table in one statement: an inserted, updated or deleted row, and a table emptied, must
each make two snapshots differ.
"""

from __future__ import annotations

from typing import Any

from schools.models import DesignationKind
from submissions.models import Figure
from tests.fuzz.checks import changed_rows
from tests.fuzz.conftest import FuzzWorld, database_state, rolled_back


def test_unchanged_database_gives_equal_snapshots(world: FuzzWorld) -> None:
    assert database_state() == database_state()
    assert database_state()["submissions.Figure"], "the world has figures: the snapshot must read them"


def test_an_updated_column_is_seen(world: FuzzWorld) -> None:
    with rolled_back():
        before = database_state()
        figure = Figure.objects.order_by("pk").first()
        assert figure is not None
        Figure.objects.filter(pk=figure.pk).update(name=figure.name + "x")
        after = database_state()
        assert after != before
        changed = changed_rows(before, after)
        assert list(changed) == ["submissions.Figure"]
        assert [row[0] for row in changed["submissions.Figure"]] == [str(figure.pk)]


def test_an_inserted_and_a_deleted_row_are_seen(world: FuzzWorld) -> None:
    with rolled_back():
        before = database_state()
        kind = DesignationKind.objects.create(code="FUZZ-NEW", name="新称号")
        inserted = database_state()
        assert inserted != before
        assert str(kind.pk) in {row[0] for row in changed_rows(before, inserted)["schools.DesignationKind"]}
        kind.delete()
        assert database_state() == before


def test_a_table_emptied_is_seen(world: FuzzWorld) -> None:
    with rolled_back():
        before = database_state()
        assert before["schools.DesignationKind"]
        kinds: Any = DesignationKind.objects.all()
        kinds.delete()
        after = database_state()
        assert after["schools.DesignationKind"] == []
        assert after != before
