"""Drop the single-column indexes on targets_indicatorvalue.indicator_id and .org_unit_id (issue 17).

The unique constraint (indicator, org unit, period) and the (org unit, period) index start with those columns and
serve every lookup. Only the indexes are dropped: Django's own AlterField would also drop and re-add (re-validate)
both foreign keys, a join over every indicator value under an exclusive lock; the constraints are unchanged here.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEXES = {
    "targets_indicatorvalue_indicator_id_6ad2a6ca": "indicator_id",
    "targets_indicatorvalue_org_unit_id_847882a2": "org_unit_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0008_indicator_window_value"),
        ("schools", "0002_designation_levels_unit_dates_types"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    sql=f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "targets_indicatorvalue" ("{column}")',
                )
                for name, column in INDEXES.items()
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="indicatorvalue",
                    name="indicator",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="values",
                        to="indicators.indicator",
                    ),
                ),
                migrations.AlterField(
                    model_name="indicatorvalue",
                    name="org_unit",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="indicator_values",
                        to="schools.orgunit",
                    ),
                ),
            ],
        ),
    ]
