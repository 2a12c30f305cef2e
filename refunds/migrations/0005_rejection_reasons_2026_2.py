"""Rule set 2026.2: every entry-level reason of CBP's CAPE messages (spec §7) with its next action.

Rows 0002 seeded are brought to CBP's words (their next action and phrases); the new ones are added. Staff
managers edit the table in the admin afterwards; a reason CBP sends that matches no row is shown as CBP wrote
it and waits for staff (UNKNOWN_REASON_ACTION).
"""

from django.db import migrations

# code: (label, phrases, next action, re-file at once, position)
REASONS = {
    "upload_failed": (
        "Whole file refused (Failed initial validation / Rejected by batch validation)",
        "failed initial validation\nrejected by batch validation",
        "CBP refused the whole file, not this entry: read the Validation Result File in ACE, fix the cause (e.g. "
        "an entry with another broker's filer code, a wrong column), then the entries go into the next "
        "declaration.",
        True,
        5,
    ),
    "protest": (
        "Protest on the entry (PROTEST ON ENTRY)",
        "protest on entry\nprotest",
        "The protest decides the refund. For a protest that covers only IEEPA duties, the importer may withdraw "
        "it while the entry is within its 80 days after liquidation and then declare the entry again: allow "
        "re-filing once the withdrawal is recorded.",
        False,
        10,
    ),
    "final_liquidation": (
        "Past the CAPE window (ENTRY SUMMARY IN FINAL LIQUIDATION)",
        "entry summary in final liquidation\nfinal liquidation\nfinally liquidated\nliquidation is final",
        "The entry is past its 80 days after liquidation: file a protest (CBP Form 19) within 180 days of "
        "liquidation, or, after that, wait for CAPE Phase 3 for finally liquidated entries. Do not declare it "
        "again now.",
        False,
        20,
    ),
    "statement_processing": (
        "Statement not paid yet (STATEMENT PROCESSING NOT COMPLETE)",
        "statement processing not complete",
        "Wait until the periodic statement that holds the entry is paid, then allow re-filing: the entry goes "
        "into the next declaration.",
        False,
        25,
    ),
    "hts_error": (
        "HTS error (INVALID HTS / HTS RELATIONSHIP MISMATCH)",
        "invalid hts\nhts relationship mismatch",
        "File a post-summary correction (PSC) that fixes the HTS numbers first (CSMS #69056483); CAPE refuses "
        "corrections once it has accepted an entry. Allow re-filing once CBP has accepted the PSC.",
        False,
        35,
    ),
    "goods_value": (
        "Goods value on Ch. 1-97 (validation removed)",
        "goods value amount must be reported\ngoods value amount",
        "CBP removed this validation on 2026-06-25: declare the entry again now (it goes into the next "
        "declaration).",
        True,
        38,
    ),
    "account_mismatch": (
        "Not this filer's entry (Account Mismatch)",
        "account mismatch",
        "The filer may not declare this entry (it is not filed under the brokerage's filer code, or not "
        "for this importer): the importer of record declares it from its own ACE account, with the importer's "
        "own CAPE file from the claims page.",
        False,
        45,
    ),
    "no_ieepa_duty": (
        "Unable to calculate duty (UNABLE TO CALCULATE DUTY)",
        "unable to calculate duty\nno ieepa\nieepa hts\nunable to calculate\ncannot calculate\nno duty",
        "The broker reviews the entry (its IEEPA lines and duty; a post-summary correction may be needed), then "
        "allows re-filing: the entry goes into a new declaration.",
        False,
        50,
    ),
}


def seed(apps, schema_editor):
    Reason = apps.get_model("refunds", "RejectionReason")
    for code, (label, phrases, action, refile, position) in REASONS.items():
        Reason.objects.update_or_create(
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
    dependencies = [("refunds", "0004_remove_cbpreport_warnings")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
