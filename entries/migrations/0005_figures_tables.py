"""The caseload dashboard's stored figures (entries.figures), filled from the rows already there.

The fill is SQL frozen here (not entries.figures, which may change after this migration); it computes
what entries.figures.figures_refresh does, for every client at once.
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

FILL = [
    """
    INSERT INTO entries_pathfigures (client_id, refund_path, entries, ieepa)
    SELECT client_id, refund_path, COUNT(*), COALESCE(SUM(ieepa_duty), 0)
    FROM entries_entry GROUP BY client_id, refund_path
    """,
    """
    INSERT INTO entries_deadlinefigures (client_id, day, entries, ieepa)
    SELECT client_id, next_deadline, COUNT(*), COALESCE(SUM(ieepa_duty), 0)
    FROM entries_entry
    WHERE next_deadline_kind IN ('cape_window_closes', 'protest_deadline') AND next_deadline IS NOT NULL
    GROUP BY client_id, next_deadline
    """,
    """
    INSERT INTO entries_ledgerfigures (client_id, filed, accepted, refunded, refunded_principal, open_rejections)
    SELECT client_id,
        SUM(CASE WHEN filed THEN 1 ELSE 0 END),
        SUM(CASE WHEN filed AND status = 'accepted' THEN 1 ELSE 0 END),
        SUM(CASE WHEN principal_refunded IS NOT NULL AND status <> 'released' THEN 1 ELSE 0 END),
        COALESCE(SUM(CASE WHEN status <> 'released' THEN principal_refunded END), 0),
        SUM(CASE WHEN status = 'rejected' AND NOT EXISTS (
            SELECT 1 FROM refunds_declarationentry live
            WHERE live.entry_id = ledger.entry_id AND live.status IN ('pending', 'accepted')
        ) THEN 1 ELSE 0 END)
    FROM (
        SELECT e.*, (e.status <> 'released'
                     AND d.status IN ('filed', 'accepted', 'partially_rejected', 'rejected')) AS filed
        FROM refunds_declarationentry e JOIN refunds_declaration d ON d.id = e.declaration_id
    ) ledger
    GROUP BY client_id
    """,
]


def fill(apps, schema_editor):
    for statement in FILL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0004_reminders'),
        ('entries', '0005_lines_without_fk'),
        ('refunds', '0004_remove_cbpreport_warnings'),  # the ledger figures are filled from its tables
    ]

    operations = [
        migrations.CreateModel(
            name='DeadlineFigures',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('entries', models.PositiveIntegerField(default=0)),
                ('ieepa', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18)),
            ],
            options={
                'verbose_name_plural': 'deadline figures',
            },
        ),
        migrations.CreateModel(
            name='LedgerFigures',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('filed', models.PositiveIntegerField(default=0)),
                ('accepted', models.PositiveIntegerField(default=0)),
                ('refunded', models.PositiveIntegerField(default=0)),
                ('refunded_principal', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18)),
                ('open_rejections', models.PositiveIntegerField(default=0)),
            ],
            options={
                'verbose_name_plural': 'ledger figures',
            },
        ),
        migrations.CreateModel(
            name='PathFigures',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('refund_path', models.CharField(blank=True, max_length=20)),
                ('entries', models.PositiveIntegerField(default=0)),
                ('ieepa', models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18)),
            ],
            options={
                'verbose_name_plural': 'path figures',
            },
        ),
        migrations.AddField(
            model_name='deadlinefigures',
            name='client',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='clients.client'),
        ),
        migrations.AddField(
            model_name='ledgerfigures',
            name='client',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='clients.client'),
        ),
        migrations.AddField(
            model_name='pathfigures',
            name='client',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='clients.client'),
        ),
        migrations.AddIndex(
            model_name='deadlinefigures',
            index=models.Index(fields=['day'], name='entries_dea_day_bd3ea2_idx'),
        ),
        migrations.AddConstraint(
            model_name='deadlinefigures',
            constraint=models.UniqueConstraint(fields=('client', 'day'), name='one_deadline_figures_per_client_day'),
        ),
        migrations.AddConstraint(
            model_name='ledgerfigures',
            constraint=models.UniqueConstraint(fields=('client',), name='one_ledger_figures_per_client'),
        ),
        migrations.AddConstraint(
            model_name='pathfigures',
            constraint=models.UniqueConstraint(fields=('client', 'refund_path'), name='one_path_figures_per_client'),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
