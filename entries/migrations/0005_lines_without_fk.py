"""Lines carry no foreign keys in the database; entries lose the indexes no query uses.

An import writes a million lines for a large importer, and PostgreSQL checks a foreign key row by row:
about 4 µs a line (a lookup and a row lock on the entry), 4 s of a million-row import, a fifth of it.
Lines are written in one place, the import's merge, which takes their entry ids from the client's own
entries and checks once, set-based, that every entry it wrote lines for is stored as that client's
(entries.ingestion._check_entries_stored); deleting an entry or a client deletes its lines through the
ORM's cascades. Entry indexes no query uses (client_id alone, refund_path alone) are dropped for the
same reason: each one is written for every imported entry.
"""

import django.db.models.deletion
from django.db import migrations, models

class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0004_reminders"),
        ("entries", "0004_broker_report"),
    ]

    operations = [
        migrations.AlterField(
            model_name="entry",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.client",
            ),
        ),
        migrations.AlterField(
            model_name="entry",
            name="refund_path",
            field=models.CharField(
                blank=True,
                choices=[
                    ("not_affected", "Not affected"),
                    ("section_122", "Section 122"),
                    ("needs_data", "Needs liquidation data"),
                    ("excluded", "Excluded"),
                    ("cape_phase2", "CAPE Phase 2"),
                    ("cape_phase1", "CAPE Phase 1"),
                    ("protest", "Protest"),
                    ("finally_liquidated", "Finally liquidated"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="entryline",
            name="client",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.client",
            ),
        ),
        migrations.AlterField(
            model_name="entryline",
            name="entry",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="lines",
                to="entries.entry",
            ),
        ),
        migrations.AddIndex(
            model_name="entryline",
            index=models.Index(fields=["entry", "client"], name="line_entry_client"),
        ),
    ]
