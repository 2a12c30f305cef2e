from django.db import migrations


def fillfactor(apps, schema_editor):
    # CBP's reports update every ledger row a few times (result, refund, refund status). With half of each
    # page left free, the refund updates (which touch no indexed column) are HOT: no index is rewritten,
    # which halves the time of a 500,000-row ES-022. PostgreSQL only; other databases have no such knob.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE refunds_declarationentry SET (fillfactor = 50)")


def default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE refunds_declarationentry RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("refunds", "0002_seed_rejection_reasons")]
    operations = [migrations.RunPython(fillfactor, default)]
