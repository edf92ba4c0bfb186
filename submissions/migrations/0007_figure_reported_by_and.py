"""Who reports a figure changes from an OR of its conditions to an AND (issue 13 §1).

Before, a unit reported a figure when its level was in ``reported_by_levels`` OR its school type was in
``reported_by_school_types`` OR (``reported_by_top_areas``) it sat directly under the bureau. Now every condition
given must hold. A figure with only one of the three set reports to exactly the same units either way, and that is
every figure the catalogue and the demo ship. For the others:

- ``"school"`` among the levels and school types given: the OR meant "all schools, plus the other levels"; the types
  added nothing, so they are dropped and the same units keep reporting.
- any other mix (e.g. levels ["district"] with types ["primary"], or top areas with types): no single AND of
  conditions names the same units. We refuse to guess who should report — silently changing it is the defect this
  change fixes — so the migration stops and names the figures; split each into two figures (one per group of
  units) or choose its conditions, then migrate again. Nothing is written in that case (one transaction).
"""

from django.db import migrations


def _or_to_and(apps, schema_editor):
    Figure = apps.get_model("submissions", "Figure")
    unexpressible = []
    for figure in Figure.objects.all():
        levels = list(figure.reported_by_levels or [])
        types = list(figure.reported_by_school_types or [])
        given = sum(bool(part) for part in (levels, types, figure.reported_by_top_areas))
        if given <= 1:
            continue
        if "school" in levels and types and not figure.reported_by_top_areas:
            figure.reported_by_school_types = []
            figure.save(update_fields=["reported_by_school_types"])
            continue
        unexpressible.append(figure.code)
    if unexpressible:
        raise RuntimeError(
            "These figures combine reporting conditions with OR, which cannot be kept now that conditions are "
            "AND-ed; split each into one figure per group of units (or choose its conditions) and migrate again: "
            + ", ".join(sorted(unexpressible))
        )


class Migration(migrations.Migration):
    dependencies = [("submissions", "0006_figure_scope_required_not_applicable")]

    operations = [migrations.RunPython(_or_to_and, migrations.RunPython.noop)]
