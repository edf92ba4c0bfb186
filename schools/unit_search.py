"""Finding units for a picker without listing the whole tree (issue 17: 2,709 options at 100k units).

``search_units`` answers the search-as-you-type endpoint (schools.views.unit_search); ``nearby_units`` is
what a picker renders without JavaScript: the chosen unit, its visible ancestors and a bounded number of
its children. Both go through ``portal.scope`` (the user's visible units for a permission), never around it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from portal import scope
from portal.scope import Perm
from schools.models import Level, OrgUnit, ancestor_paths

SEARCH_LIMIT = 20  # results of one search, at most
NEARBY_CHILDREN = 30  # children of the chosen unit a picker lists without a search


def _levels(levels: Iterable[str]) -> list[str]:
    return [level for level in levels if level in Level.values]


def search_units(
    user: Any, query: str, *, levels: Iterable[str] = (), perm: Perm = Perm.VIEW, limit: int = SEARCH_LIMIT
) -> QuerySet[OrgUnit]:
    """Units the user may see for ``perm`` whose code starts with ``query`` or whose name contains it.

    Shallow units first (a district before its schools), then by path; at most ``limit`` (capped at
    SEARCH_LIMIT). One query after the user's memberships, whatever the size of the tree.
    """
    units = scope.visible_units(user, perm).filter(is_active=True)
    wanted = _levels(levels)
    if wanted:
        units = units.filter(level__in=wanted)
    query = query.strip()
    if query:
        units = units.filter(Q(code__istartswith=query) | Q(name__icontains=query))
    limit = max(1, min(limit, SEARCH_LIMIT))
    return (
        units.select_related("parent")
        .only("code", "name", "level", "depth", "path", "parent__name", "parent__code")
        .order_by("depth", "path")[:limit]
    )


def nearby_units(
    user: Any,
    unit: OrgUnit | None,
    *,
    levels: Iterable[str] = (),
    perm: Perm = Perm.VIEW,
    extra_ids: Iterable[int] = (),
) -> list[OrgUnit]:
    """The bounded options of a picker around ``unit``: its visible ancestors, itself, up to NEARBY_CHILDREN of
    its children (``levels`` only), plus the units ``extra_ids`` (already chosen values), in tree order.

    With no unit: the roots of the user's scope and their children. One query after the memberships (two
    with no unit: the roots first).
    """
    wanted = _levels(levels)
    visible = scope.visible_units(user, perm)
    if unit is not None:
        near_paths = ancestor_paths(unit.path)
        parents = [unit.path]
    else:
        near_paths = [root.path for root in scope.top_units(user, perm).only("path")]
        parents = near_paths
    extra = [pk for pk in extra_ids if pk]
    near = Q(path__in=near_paths) | Q(pk__in=extra)
    children = Q()
    for path in parents:
        children |= Q(path__startswith=path, depth=path.count("."))
    if wanted:
        children &= Q(level__in=wanted)
    # One query: the near units first (at most len(near_paths) + len(extra) of them), then children in tree order,
    # cut at NEARBY_CHILDREN children.
    limit = len(near_paths) + len(extra) + NEARBY_CHILDREN
    rows = (
        visible.filter(near | children)
        .annotate(far=Case(When(near, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .only("code", "name", "level", "depth", "path")
        .order_by("far", "path")[:limit]
    )
    return sorted(rows, key=lambda u: u.path)


def as_json(unit: OrgUnit) -> dict[str, Any]:
    """One search result as the endpoint sends it (names are data: the widget inserts them as text)."""
    parent = unit.parent if unit.parent_id else None
    return {
        "id": unit.pk,
        "code": unit.code,
        "name": unit.name,
        "level": unit.level,
        "parent": parent.name if parent else "",
    }
