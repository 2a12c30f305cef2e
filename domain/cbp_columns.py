"""What CBP's files about CAPE and protests look like (spec §7, docs/CAPE.md): each kind's columns with their
aliases, and the words CBP writes for a result, an upload failure and a refund's status. Read by
domain.cbp_reports; kept apart so that a new alias or word is a one-line change to a table."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


_ENTRY = ("Entry Number", ("Entry Summary Number", "Entry No", "Entry Num", "Entry"))
_CLAIM = (
    "Claim Number",
    (
        "CAPE Claim Number",
        "CAPE Claim No",
        "Claim No",
        "Claim ID",
        "CAPE Declaration Number",
        "Declaration Number",
        "Declaration ID",
        "CAPE Number",
    ),
)

KINDS: dict[str, tuple[Column, ...]] = {
    "results": (
        Column("entry_number", *_ENTRY, required=True),
        Column("claim_number", *_CLAIM),
        Column(
            "result",
            "Status",
            (
                "Result",
                "Claim Detail Status",
                "Entry Summary Status",
                "Validation Status",
                "Validation Result",
                "Entry Status",
                "CAPE Status",
                "Entry Result",
            ),
            required=True,
        ),
        Column(
            "reason",
            "Reason",
            (
                "Rejection Reason",
                "Reject Reason",
                "Rejection Reason Description",
                "Reason Description",
                "Error Message",
                "Error Description",
                "Message",
                "Comments",
            ),
        ),
    ),
    "es022": (
        Column("entry_number", *_ENTRY, required=True),
        Column("claim_number", *_CLAIM),
        Column(
            "principal",
            "Principal Amount",
            (
                "Principal",
                "Refund Principal Amount",
                "Refund Principal",
                "Principal Refund Amount",
                "Duty Refund Amount",
                "Refund Amount",
            ),
            required=True,
        ),
        Column("interest", "Interest Amount", ("Interest", "Refund Interest Amount", "Refund Interest")),
        Column("on_date", "Refund Date", ("Payment Date", "Refund Issue Date", "Date")),
    ),
    "rev603": (
        Column("entry_number", *_ENTRY, required=True),
        Column("claim_number", *_CLAIM),
        Column(
            "refund_status",
            "Refund Status",
            (
                "Refund Secondary Status",
                "Refund Status Description",
                "Secondary Status",
                "Status",
                "Status Description",
            ),
            required=True,
        ),
        Column("on_date", "Status Date", ("Refund Status Date", "Status Change Date", "Date")),
    ),
    "rev613": (
        Column("entry_number", *_ENTRY, required=True),
        Column("claim_number", *_CLAIM),
        Column(
            "reason",
            "Return Reason",
            (
                "ACH Return Reason",
                "Return Reason Code",
                "Return Code",
                "Reject Reason",
                "Rejection Reason",
                "Reason",
            ),
        ),
        Column("on_date", "Return Date", ("ACH Return Date", "Reject Date", "Rejection Date", "Date")),
    ),
    # CBP's decision on a protest, per entry (domain.protests.decisions reads the words).
    "protest_decisions": (
        Column("entry_number", *_ENTRY, required=True),
        Column("claim_number", "Protest Number", ("Protest No", "Protest Num", "Protest ID", "Protest")),
        Column(
            "reason",
            "Decision",
            ("Protest Decision", "Disposition", "Protest Status", "Decision Status", "Status", "Result"),
            required=True,
        ),
        Column("on_date", "Decision Date", ("Disposition Date", "Date Decided", "Status Date", "Date")),
        # A partial allowance's amount, when CBP's list gives it.
        Column(
            "principal",
            "Allowed Amount",
            ("Amount Allowed", "Allowed", "Approved Amount", "Amount Approved", "Refund Amount", "Amount"),
        ),
    ),
}

# CBP's own words first (spec §7, claim details CSV): STATUS "Entry Summary Updated" (accepted) or "Failed"
# (rejected, reason in ERROR_DESCRIPTION). An upload status on an entry's row ("Failed initial validation",
# "Rejected by batch validation") means CBP refused the whole file: every entry of it is rejected, with the
# upload status as the reason when the row gives none (UPLOAD_FAILURES).
UPLOAD_FAILURES = {
    "failedinitialvalidation": "Failed initial validation",
    "rejectedbybatchvalidation": "Rejected by batch validation",
}
_RESULT_WORDS = {
    "entrysummaryupdated": "accepted",
    "failedinitialvalidation": "rejected",
    "rejectedbybatchvalidation": "rejected",
    "accepted": "accepted",
    "accept": "accepted",
    "a": "accepted",
    "valid": "accepted",
    "validated": "accepted",
    "success": "accepted",
    "successful": "accepted",
    "passed": "accepted",
    "rejected": "rejected",
    "reject": "rejected",
    "r": "rejected",
    "invalid": "rejected",
    "error": "rejected",
    "failed": "rejected",
    "fail": "rejected",
    "denied": "rejected",
}
# REV-603's "Refund Secondary Status" words as CBP writes them first: Sent to Treasury, Treasury Issued, Funds
# Diverted, Check/ACH Returned (spec §7); then the shorter forms other exports use.
_REFUND_STATUS_WORDS = {
    "senttotreasury": "sent",
    "treasuryissued": "issued",
    "fundsdiverted": "diverted",
    "checkachreturned": "ach_returned",
    "sent": "sent",
    "scheduled": "sent",
    "submitted": "sent",
    "issued": "issued",
    "paid": "issued",
    "disbursed": "issued",
    "refundissued": "issued",
    "diverted": "diverted",
    "offset": "diverted",
    "treasuryoffset": "diverted",
    "achreturned": "ach_returned",
    "returned": "ach_returned",
    "achreturn": "ach_returned",
    "achrejected": "ach_returned",
    "rejected": "ach_returned",
}
