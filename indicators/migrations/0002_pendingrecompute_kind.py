"""A recompute request gets a typed kind; open designation requests (reason "designation") keep their meaning."""

from django.db import migrations, models


def kind_from_reason(apps, schema_editor):
    PendingRecompute = apps.get_model('indicators', 'PendingRecompute')
    PendingRecompute.objects.filter(reason='designation').update(kind='designations')


class Migration(migrations.Migration):

    dependencies = [
        ('indicators', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='pendingrecompute',
            name='kind',
            field=models.CharField(choices=[('figures', '上报数据变更'), ('designations', '认定变更')], default='figures', max_length=20),
        ),
        migrations.RunPython(kind_from_reason, migrations.RunPython.noop),
    ]
