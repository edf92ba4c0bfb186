"""Subtree and ancestor queries: one indexed query each, whatever the depth or size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from schools.models import Level, OrgUnit, ancestor_paths
from tests.conftest import Tree, make_unit


def test_paths_follow_the_tree(tree: Tree) -> None:
    assert tree.s1.path == tree.t1.path + f"{tree.s1.pk:07d}."
    assert tree.s1.depth == 3
    assert tree.s1.ancestor_ids == [tree.city.pk, tree.d1.pk, tree.t1.pk, tree.s1.pk]
    assert ancestor_paths(tree.s1.path) == [tree.city.path, tree.d1.path, tree.t1.path, tree.s1.path]


def test_subtree_of_a_district_holds_exactly_its_units(tree: Tree) -> None:
    codes = set(OrgUnit.objects.subtree_of(tree.d1).values_list("code", flat=True))
    assert codes == {"D1", "T1", "S1", "S2", "K1"}
    assert "D1" not in set(OrgUnit.objects.subtree_of(tree.d1, include_self=False).values_list("code", flat=True))


def test_ancestors_come_root_first(tree: Tree) -> None:
    assert [u.code for u in OrgUnit.objects.ancestors_of(tree.k1)] == ["CITY", "D1", "T1", "K1"]
    assert [u.code for u in OrgUnit.objects.ancestors_of(tree.k1, include_self=False)] == ["CITY", "D1", "T1"]


def _chain(depth: int, width: int) -> OrgUnit:
    """A chain ``depth`` levels deep with ``width`` leaves at the bottom; returns the deepest leaf."""
    parent = make_unit(f"R{depth}-{width}", "root", Level.BUREAU)
    for level in range(depth):
        parent = make_unit(f"R{depth}-{width}-{level}", f"n{level}", Level.TOWNSHIP, parent)
    leaf = parent
    for i in range(width):
        leaf = make_unit(f"R{depth}-{width}-L{i}", f"leaf{i}", Level.SCHOOL, parent, school_type="primary")
    return leaf


@pytest.mark.django_db
@pytest.mark.parametrize(("depth", "width"), [(2, 3), (9, 60)])
def test_tree_queries_cost_one_query_whatever_the_depth_and_size(depth: int, width: int) -> None:
    leaf = _chain(depth, width)
    root = OrgUnit.objects.get(code=f"R{depth}-{width}")
    with CaptureQueriesContext(connection) as ctx:
        subtree = list(OrgUnit.objects.subtree_of(root))
        ancestors = list(OrgUnit.objects.ancestors_of(leaf))
    # one query for the subtree, one for the ancestors
    assert len(ctx.captured_queries) == 2
    assert len(subtree) == 1 + depth + width
    assert len(ancestors) == depth + 2


def test_moving_a_unit_rewrites_its_descendants_paths(tree: Tree) -> None:
    tree.t1.parent = tree.d2
    tree.t1.save()
    tree.s1.refresh_from_db()
    assert tree.s1.path.startswith(tree.d2.path)
    assert tree.s1.depth == 3
    assert set(OrgUnit.objects.subtree_of(tree.d2).values_list("code", flat=True)) == {
        "D2",
        "S3",
        "K2",
        "T1",
        "S1",
        "S2",
        "K1",
    }


def test_a_unit_cannot_become_its_own_ancestor(tree: Tree) -> None:
    tree.d1.parent = tree.s1
    with pytest.raises(ValueError, match="own ancestor"):
        tree.d1.save()
