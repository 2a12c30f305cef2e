"""The objection and justification of each category (spec §9), as managers start from; they edit them in the admin."""

from django.db import migrations

TEMPLATES = {
    "ieepa": {
        "decision_protested": (
            "The liquidation of the entries listed, insofar as it assessed duties under HTSUS headings 9903.01 and "
            "9903.02 (duties imposed under the International Emergency Economic Powers Act)."
        ),
        "objection": (
            "The protestant objects to the assessment and collection of the IEEPA duties on the merchandise of the "
            "entries listed."
        ),
        "justification": (
            "The IEEPA duties were imposed without lawful authority: the International Emergency Economic Powers Act "
            "does not authorize tariffs, as the Supreme Court held in Learning Resources, Inc. v. Trump (U.S. Feb. 20, "
            "2026). Duties assessed under HTSUS 9903.01 and 9903.02 are therefore not owed."
        ),
        "relief": (
            "Reliquidation of the entries without the duties assessed under HTSUS 9903.01 and 9903.02, and refund of "
            "those duties with interest as provided by 19 U.S.C. 1505."
        ),
    },
    "section_122": {
        "decision_protested": (
            "The liquidation of the entries listed, insofar as it assessed the duty under HTSUS 9903.03.01 "
            "(Section 122 of the Trade Act of 1974)."
        ),
        "objection": (
            "The protestant objects to the assessment and collection of the Section 122 duty on the merchandise of "
            "the entries listed, a category of objection distinct from any other in this protest."
        ),
        "justification": (
            "The duty under HTSUS 9903.03.01 was assessed beyond the authority of 19 U.S.C. 2132 (Section 122 of the "
            "Trade Act of 1974) and is not owed; the protestant preserves its right to the refund of that duty."
        ),
        "relief": (
            "Reliquidation of the entries without the duty assessed under HTSUS 9903.03.01, and refund of that duty "
            "with interest as provided by 19 U.S.C. 1505."
        ),
    },
}


def seed(apps, schema_editor):
    ProtestTemplate = apps.get_model("protests", "ProtestTemplate")
    for category, words in TEMPLATES.items():
        ProtestTemplate.objects.update_or_create(category=category, defaults=words)


class Migration(migrations.Migration):
    dependencies = [("protests", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
