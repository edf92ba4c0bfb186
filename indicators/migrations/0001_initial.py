"""The indicator engine's models move from ``targets`` to this app without touching a table or a row.

The tables keep their names (``targets_indicator`` …): the state moves here, the database is left alone; the
content types follow so that permissions granted on them stay granted. ``targets.0003`` drops them from
``targets``' state.
"""

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    ContentType.objects.filter(app_label='targets', model__in=['indicator', 'indicatorvalue', 'pendingrecompute']).update(
        app_label='indicators'
    )


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    ContentType.objects.filter(app_label='indicators', model__in=['indicator', 'indicatorvalue', 'pendingrecompute']).update(
        app_label='targets'
    )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('schools', '0001_initial'),
        ('submissions', '0005_validation_rule_english'),
        # The tables were created by targets' migrations; this app takes over their state.
        ('targets', '0002_target_assess_from'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Indicator',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.SlugField(max_length=60, unique=True, verbose_name='代码')),
                        ('name', models.CharField(max_length=200, verbose_name='名称')),
                        ('name_en', models.CharField(blank=True, max_length=200, verbose_name='英文名称')),
                        ('definition', models.TextField(blank=True, verbose_name='口径说明')),
                        ('numerator', models.CharField(blank=True, max_length=1000, verbose_name='分子表达式')),
                        ('denominator', models.CharField(blank=True, max_length=1000, verbose_name='分母表达式')),
                        ('factor', models.DecimalField(decimal_places=4, default=Decimal('1'), max_digits=12, verbose_name='系数')),
                        ('decimals', models.PositiveSmallIntegerField(default=1, verbose_name='小数位')),
                        ('unit', models.CharField(blank=True, max_length=20, verbose_name='单位')),
                        ('aggregation', models.CharField(choices=[('ratio', '比率（分子和/分母和）'), ('sum', '求和'), ('max', '最大值'), ('min', '最小值'), ('count_units_where', '满足条件的单位数'), ('count_designations', '认定数')], default='ratio', max_length=30, verbose_name='汇总方式')),
                        ('condition', models.CharField(blank=True, help_text='例如 pri_enrolled > 2000', max_length=1000, verbose_name='条件')),
                        ('unit_filter_levels', models.JSONField(blank=True, default=list, verbose_name='单位层级')),
                        ('unit_filter_school_types', models.JSONField(blank=True, default=list, verbose_name='学校类型')),
                        ('unit_filter_ownership', models.JSONField(blank=True, default=list, verbose_name='办学性质')),
                        ('unit_filter_central_only', models.BooleanField(default=False, verbose_name='仅中心校')),
                        ('period_mode', models.CharField(choices=[('quarter', '按季度'), ('year', '按年度'), ('half', '按半年')], default='quarter', max_length=10, verbose_name='周期')),
                        ('is_active', models.BooleanField(default=True, verbose_name='启用')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('designation_kind', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='schools.designationkind', verbose_name='认定类别')),
                    ],
                    options={
                        'verbose_name': '统计指标',
                        'verbose_name_plural': '统计指标',
                        'db_table': 'targets_indicator',
                        'ordering': ['code'],
                    },
                ),
                migrations.CreateModel(
                    name='IndicatorValue',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('numerator', models.DecimalField(blank=True, decimal_places=6, max_digits=24, null=True)),
                        ('denominator', models.DecimalField(blank=True, decimal_places=6, max_digits=24, null=True)),
                        ('value', models.DecimalField(blank=True, decimal_places=6, max_digits=24, null=True)),
                        ('unit_count', models.PositiveIntegerField(default=0, verbose_name='参与单位数')),
                        ('computed_at', models.DateTimeField()),
                        ('indicator', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='values', to='indicators.indicator')),
                        ('org_unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='indicator_values', to='schools.orgunit')),
                        ('period', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='indicator_values', to='submissions.period')),
                    ],
                    options={
                        'verbose_name': '指标值',
                        'verbose_name_plural': '指标值',
                        'db_table': 'targets_indicatorvalue',
                        'ordering': ['indicator', 'period', 'org_unit', 'pk'],
                        'indexes': [models.Index(fields=['indicator', 'period', 'org_unit'], name='targets_iv_ind_period_unit'), models.Index(fields=['org_unit', 'period'], name='targets_iv_unit_period')],
                        'constraints': [models.UniqueConstraint(fields=('indicator', 'org_unit', 'period'), name='targets_indicatorvalue_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='PendingRecompute',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('requested_at', models.DateTimeField(auto_now_add=True)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('done_at', models.DateTimeField(blank=True, null=True)),
                        ('reason', models.CharField(blank=True, max_length=100)),
                        ('org_unit', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='schools.orgunit')),
                        ('period', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='submissions.period')),
                    ],
                    options={
                        'verbose_name': '待重算',
                        'verbose_name_plural': '待重算',
                        'db_table': 'targets_pendingrecompute',
                        'ordering': ['requested_at', 'pk'],
                        'indexes': [models.Index(condition=models.Q(('done_at__isnull', True)), fields=['requested_at'], name='targets_pending_open')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
        migrations.CreateModel(
            name='NightlyRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField(auto_now_add=True)),
                ('remaining', models.PositiveIntegerField()),
                ('period_ids', models.JSONField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'verbose_name': '夜间重算',
                'verbose_name_plural': '夜间重算',
                'ordering': ['-started_at', '-pk'],
            },
        ),
    ]
