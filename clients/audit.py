"""Writing the audit trail. Services call record() inside their own transaction."""

from typing import Any

from django.db import models

from .models import AuditEvent, Client, User

# Every action services record, with the words the audit trail, its export and the overview show.
# A new action gets its label here (tests/test_words.py finds the actions in the code and checks).
ACTION_LABELS = {
    "client.created": "Company created",
    "client.profile_updated": "Company profile updated",
    "client.importer_number_added": "Importer number added",
    "client.importer_number_removed": "Importer number removed",
    "client.importer_number_verified": "Importer number verified by the broker",
    "client.member_invited": "Person invited",
    "client.invitation_revoked": "Invitation revoked",
    "client.member_joined": "Person joined",
    "client.member_role_changed": "Role changed",
    "client.member_removed": "Person removed",
    "client.member_changed_by_import": "Person changed by an import",
    "client.staff_assigned": "Broker staff assigned",
    "client.staff_unassigned": "Broker staff unassigned",
    "client.audit_export_requested": "Audit trail exported",
    "client.letter_generated": "Letter generated",
    "onboarding.ace_path_chosen": "ACE account path chosen",
    "onboarding.ace_steps_updated": "ACE account steps updated",
    "onboarding.form_5106_updated": "Form 5106 details updated",
    "onboarding.item_updated": "Checklist step updated",
    "onboarding.item_verified": "Checklist step verified by the broker",
    "onboarding.item_reopened": "Checklist step reopened",
    "onboarding.evidence_added": "Evidence attached",
    "onboarding.evidence_removed": "Evidence removed",
    "onboarding.code_window_proposed": "ACE code window proposed",
    "onboarding.code_window_confirmed": "ACE code window confirmed",
    "onboarding.code_window_cancelled": "ACE code window cancelled",
    "onboarding.code_window_reminder_sent": "ACE code window reminder sent",
    "onboarding.sub_account_updated": "Importer sub-account updated",
    "onboarding.ach_updated": "ACH refund details updated",
    "onboarding.ach_refund_returned": "ACH refund returned by the bank",
    "onboarding.special_cases_updated": "Special cases updated",
    "onboarding.authorization_granted": "Filing authorization given",
    "onboarding.authorization_revoked": "Filing authorization revoked",
    "onboarding.stale_digest_sent": "Reminder of stalled steps sent",
    "entries.report_uploaded": "Report uploaded",
    "entries.report_refused": "Report refused",
    "entries.report_rejected": "Report rejected",
    "entries.report_imported": "Report imported",
    "entries.report_failed": "Report import failed",
    "entries.flags_changed": "Entry flags changed",
    "entries.rule_set_changed": "Refund paths changed by a new rule set",
    "refunds.batch_built": "CAPE declarations built",
    "refunds.declaration_filed": "CAPE declaration filed",
    "refunds.declaration_discarded": "CAPE declaration discarded",
    "refunds.filing_readiness_overridden": "Filing allowed before onboarding was complete",
    "refunds.refile_allowed": "Re-filing allowed",
    "refunds.cbp_report_uploaded": "CBP report uploaded",
    "refunds.cbp_report_reconciled": "CBP report matched",
    "refunds.cbp_report_rejected": "CBP report rejected",
    "refunds.cbp_report_failed": "CBP report failed",
    "protests.drafts_built": "Protest drafts built",
    "protests.draft_discarded": "Protest draft discarded",
    "protests.description_edited": "Protest description edited",
    "protests.entry_added": "Entry added to a protest",
    "protests.entry_removed": "Entry removed from a protest",
    "protests.authorization_granted": "Protest filing authorization given",
    "protests.authorization_revoked": "Protest filing authorization revoked",
    "protests.pdf_requested": "Protest form generated",
    "protests.filed": "Protest filed",
    "protests.withdrawn": "Protest withdrawn",
    "protests.accelerated_requested": "Accelerated disposition requested",
    "protests.decided": "Protest decided",
    "protests.decision_list_uploaded": "CBP's protest decision list uploaded",
}


def record(
    *,
    client: Client,
    actor: User | None,
    action: str,
    subject: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        client=client,
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        subject_repr=str(subject)[:200] if subject is not None else "",
        data=data or {},
    )
