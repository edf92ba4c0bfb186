
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('indicators', '0001_initial'),
        ('targets', '0002_target_assess_from'),
    ]

    operations = [
        # State only: the tables now belong to the indicators app (see indicators.0001), rows untouched.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='indicatorvalue',
                    name='indicator',
                ),
                migrations.AlterField(
                    model_name='target',
                    name='indicator',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='targets', to='indicators.indicator', verbose_name='统计指标'),
                ),
                migrations.RemoveField(
                    model_name='indicatorvalue',
                    name='org_unit',
                ),
                migrations.RemoveField(
                    model_name='indicatorvalue',
                    name='period',
                ),
                migrations.RemoveField(
                    model_name='pendingrecompute',
                    name='org_unit',
                ),
                migrations.RemoveField(
                    model_name='pendingrecompute',
                    name='period',
                ),
                migrations.DeleteModel(
                    name='Indicator',
                ),
                migrations.DeleteModel(
                    name='IndicatorValue',
                ),
                migrations.DeleteModel(
                    name='PendingRecompute',
                ),
            ],
        ),
    ]
