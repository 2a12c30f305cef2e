from django.db import migrations

# The examples; staff managers edit the table in the admin afterwards.
REASONS = [
    (
        "protest",
        "Protest on the entry",
        "protest",
        "Wait for the protest decision: the refund comes through the protest, not CAPE.",
        False,
        10,
    ),
    (
        "final_liquidation",
        "Entry finally liquidated",
        "final liquidation\nfinally liquidated\nliquidation is final",
        "Wait for the CAPE phase for finally liquidated entries, then allow re-filing.",
        False,
        20,
    ),
    (
        "reconciliation",
        "Flagged for reconciliation",
        "reconciliation",
        "Phase 2: mark the entry as flagged for reconciliation (entry page) so it moves to Phase 2; it then goes "
        "into the next declaration, which must be filed before the Type 09 reconciliation entry.",
        True,
        30,
    ),
    (
        "previously_submitted",
        "Previously submitted",
        "previously submitted\nalready submitted\nduplicate",
        "Check the ledger: the entry is already in another declaration; do not file it again.",
        False,
        40,
    ),
    (
        "no_ieepa_duty",
        "No IEEPA HTS / unable to calculate duty",
        "no ieepa\nieepa hts\nunable to calculate\ncannot calculate\nno duty",
        "Review the entry: a post-summary correction may be needed first; allow re-filing once it is accepted.",
        False,
        50,
    ),
]


def seed(apps, schema_editor):
    Reason = apps.get_model("refunds", "RejectionReason")
    for code, label, phrases, action, refile, position in REASONS:
        Reason.objects.get_or_create(
            code=code,
            defaults={
                "label": label,
                "match_phrases": phrases,
                "next_action": action,
                "allows_refile": refile,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("refunds", "0001_declarations_ledger")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
