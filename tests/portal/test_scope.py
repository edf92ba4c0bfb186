"""The access-scope helper, role by role: a role covers its unit's whole subtree and nothing else."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal import scope
from portal.scope import Perm
from schools.models import OrgUnit
from tests.conftest import Personas, Tree


def codes(queryset) -> set[str]:
    return set(queryset.values_list("code", flat=True))


def test_principal_sees_only_their_own_school(tree: Tree, users: Personas) -> None:
    assert codes(scope.visible_units(users.alice)) == {"S1"}
    assert codes(scope.visible_units(users.bob)) == {"S3"}


def test_reviewer_sees_their_district_subtree(tree: Tree, users: Personas) -> None:
    assert codes(scope.visible_units(users.rita)) == {"D1", "T1", "S1", "S2", "K1"}
    assert codes(scope.visible_units(users.rob)) == {"D2", "S3", "K2"}


def test_inspector_and_bureau_admin_see_the_city(tree: Tree, users: Personas) -> None:
    everything = set(OrgUnit.objects.values_list("code", flat=True))
    assert codes(scope.visible_units(users.ivan)) == everything
    assert codes(scope.visible_units(users.bea)) == everything


def test_a_user_without_role_sees_nothing(tree: Tree, users: Personas) -> None:
    assert codes(scope.visible_units(users.nobody)) == set()
    assert not scope.has_perm(users.nobody, Perm.VIEW)


@pytest.mark.parametrize(
    ("persona", "perm", "unit", "allowed"),
    [
        ("alice", Perm.SUBMIT, "s1", True),
        ("alice", Perm.SUBMIT, "s2", False),
        ("alice", Perm.REVIEW, "s1", False),
        ("alice", Perm.EXPORT, "s1", False),
        ("rita", Perm.REVIEW, "s1", True),
        ("rita", Perm.REVIEW, "s3", False),
        ("rita", Perm.SUBMIT, "s1", False),
        ("rita", Perm.ADMIN, "d1", False),
        ("ivan", Perm.VIEW, "s3", True),
        ("ivan", Perm.EXPORT, "city", True),
        ("ivan", Perm.REVIEW, "s3", False),
        ("ivan", Perm.SUBMIT, "s3", False),
        ("bea", Perm.ADMIN, "k2", True),
        ("bea", Perm.REVIEW, "s3", True),
        ("nobody", Perm.VIEW, "s1", False),
    ],
)
def test_permissions_by_role_and_unit(
    tree: Tree, users: Personas, persona: str, perm: Perm, unit: str, allowed: bool
) -> None:
    user, target = getattr(users, persona), getattr(tree, unit)
    assert scope.has_perm(user, perm, target) is allowed
    if allowed:
        scope.require(user, perm, target)
    else:
        with pytest.raises(PermissionDenied):
            scope.require(user, perm, target)


def test_get_in_scope_hides_other_units_as_not_found(tree: Tree, users: Personas) -> None:
    assert scope.get_in_scope(users.alice, OrgUnit.objects.all(), code="S1") == tree.s1
    with pytest.raises(Http404):
        scope.get_in_scope(users.alice, OrgUnit.objects.all(), code="S2")


def test_membership_checks_cost_one_query_per_user_object(
    tree: Tree, users: Personas, django_assert_num_queries
) -> None:
    from django.contrib.auth import get_user_model

    rita = get_user_model().objects.get(pk=users.rita.pk)
    with django_assert_num_queries(1):  # the memberships, then cached on the user object
        for unit in (tree.s1, tree.s2, tree.k1, tree.s3, tree.k2):
            scope.has_perm(rita, Perm.REVIEW, unit)


def test_memberships_of_closed_units_grant_nothing(tree: Tree, users: Personas) -> None:
    tree.s1.is_active = False
    tree.s1.save()
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(pk=users.alice.pk)
    assert codes(scope.visible_units(alice)) == set()


def test_superuser_sees_everything(tree: Tree) -> None:
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 16)
    assert codes(scope.visible_units(root)) == set(OrgUnit.objects.values_list("code", flat=True))
    assert [u.code for u in scope.top_units(root)] == ["CITY"]
