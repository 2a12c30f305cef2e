"""The caseload's stored deadline figures per deadline kind, so that the nearest protest deadline of a client is
read from them (one index probe) instead of from its entries; refilled from the entries already there.

The refill is SQL frozen here (not entries.figures, which may change after this migration); it computes what
entries.figures.figures_refresh does, for every client at once.
"""

from django.db import migrations, models

REFILL = [
    "DELETE FROM entries_deadlinefigures",
    """
    INSERT INTO entries_deadlinefigures (client_id, kind, day, entries, ieepa)
    SELECT client_id, next_deadline_kind, next_deadline, COUNT(*), COALESCE(SUM(ieepa_duty), 0)
    FROM entries_entry
    WHERE next_deadline_kind IN ('cape_window_closes', 'protest_deadline', 'court_deadline')
        AND next_deadline IS NOT NULL
    GROUP BY client_id, next_deadline_kind, next_deadline
    """,
]
# Back to one row per (client, day): the kinds' rows summed (the old unique constraint is added after this).
MERGE_KINDS = [
    "SET CONSTRAINTS ALL IMMEDIATE",  # no deferred checks left pending when the indexes change after this
    """
    INSERT INTO entries_deadlinefigures (client_id, kind, day, entries, ieepa)
    SELECT client_id, '', day, SUM(entries), SUM(ieepa) FROM entries_deadlinefigures GROUP BY client_id, day
    """,
    "DELETE FROM entries_deadlinefigures WHERE kind <> ''",
]



def refill(apps, schema_editor):
    for statement in REFILL:
        schema_editor.execute(statement)


def merge_kinds(apps, schema_editor):
    for statement in MERGE_KINDS:
        if statement.startswith("SET CONSTRAINTS") and schema_editor.connection.vendor != "postgresql":
            continue  # SQLite has no deferred checks to settle (and no such statement)
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('clients', '0007_onboarding_files_protests'),
        ('entries', '0008_entry_protest_fields'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='deadlinefigures',
            name='one_deadline_figures_per_client_day',
        ),
        migrations.AddField(
            model_name='deadlinefigures',
            name='kind',
            field=models.CharField(db_default='', max_length=40),
        ),
        migrations.AddIndex(
            model_name='deadlinefigures',
            index=models.Index(fields=['client', 'day'], name='deadline_figures_client_day'),
        ),
        migrations.AddConstraint(
            model_name='deadlinefigures',
            constraint=models.UniqueConstraint(fields=('client', 'kind', 'day'), name='one_deadline_figures_per_client_kind_day'),
        ),
        # Last, after the schema changes: rows written in this transaction leave deferred foreign-key checks
        # pending, and PostgreSQL refuses to change a table's indexes while they are (the rows all have kind ''
        # until then, unique per client and day, so the new constraint holds).
        migrations.RunPython(refill, merge_kinds),
    ]
