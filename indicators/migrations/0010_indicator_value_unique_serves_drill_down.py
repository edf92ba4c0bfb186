"""The indicator values' unique constraint in (indicator, period, unit) order, which also serves the drill-down
tables; the index that held that order (targets_iv_ind_period_unit) goes (issue 17: one index fewer to build after a
first build and to update on every write). Rebuilding the unique index locks the table for writes while it is built
(~0.4 s per million rows measured here): run it outside the deadline week's working hours."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('indicators', '0009_indicator_value_no_redundant_fk_indexes'),
        ('schools', '0002_designation_levels_unit_dates_types'),
        ('submissions', '0009_figure_stage'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='indicatorvalue',
            name='targets_indicatorvalue_unique',
        ),
        migrations.RemoveIndex(
            model_name='indicatorvalue',
            name='targets_iv_ind_period_unit',
        ),
        migrations.AddConstraint(
            model_name='indicatorvalue',
            constraint=models.UniqueConstraint(fields=('indicator', 'period', 'org_unit'), name='targets_indicatorvalue_unique'),
        ),
    ]
