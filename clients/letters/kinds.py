"""Request letters printed on a client's letterhead: the kinds, what each asks for, the merge data.

Pure: plain values in, plain values out. The same merge data renders the HTML preview and the PDF, so
what staff review is what CBP receives (letters.services renders both from one template).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.db import models

from domain import entry_numbers


class LetterKind(models.TextChoices):
    SUB_ACCOUNT = "sub_account", "Sub-account request (ACE applications mailbox)"
    REACTIVATION = "reactivation", "ACE account reactivation request"
    PAPER_CHECK_WAIVER = "paper_check_waiver", "Paper-check waiver request (31 CFR 208.4)"
    REPLACEMENT_REFUND = "replacement_refund", "Replacement refund request (missing ACH data)"
    FILING_AUTHORIZATION = "filing_authorization", "CAPE filing authorization to the brokerage"


@dataclass(frozen=True)
class KindSpec:
    subject: str
    details_label: str  # the free-text list each kind needs; "" when the kind needs none
    details_required: bool
    details_help: str = ""


SPECS: dict[str, KindSpec] = {
    LetterKind.SUB_ACCOUNT: KindSpec(
        subject="Request to add importer sub-accounts to our ACE Portal top account",
        details_label="Importer sub-accounts to add (one IOR number per line)",
        details_required=True,
    ),
    LetterKind.REACTIVATION: KindSpec(
        subject="Request to reactivate our dormant ACE Portal account",
        details_label="Notes for CBP (optional)",
        details_required=False,
    ),
    LetterKind.PAPER_CHECK_WAIVER: KindSpec(
        subject="Request for a waiver of electronic refund payment under 31 CFR 208.4",
        details_label="Why the importer cannot receive payments by ACH",
        details_required=True,
        details_help="31 CFR 208.4 grants waivers only in limited cases; state the facts that apply.",
    ),
    LetterKind.REPLACEMENT_REFUND: KindSpec(
        subject="Request for replacement refunds rejected for missing ACH data",
        details_label="Entry numbers of the rejected refunds (one per line)",
        details_required=True,
    ),
    LetterKind.FILING_AUTHORIZATION: KindSpec(
        subject="Authorization to file CAPE refund declarations on our behalf",
        details_label="",
        details_required=False,
    ),
}

# The company details the sub-account letter must repeat exactly as on the original ACE application.
COMPANY_FIELDS = (
    ("company_name", "Company name"),
    ("address_line1", "Address"),
    ("address_line2", "Address (line 2)"),
    ("city", "City"),
    ("state", "State"),
    ("postal_code", "ZIP code"),
)


def template_name(kind: str) -> str:
    return f"letters/{kind}.html"


def detail_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


# Kinds whose details are CBP entry numbers: CBP looks each one up, so a mistyped number must not print.
ENTRY_NUMBER_KINDS = frozenset({LetterKind.REPLACEMENT_REFUND})


def entry_number_problems(lines: list[str]) -> list[str]:
    """A message for each line that is not an entry number with the right check digit (spec §3)."""
    problems = []
    for line in lines:
        number = entry_numbers.canonical(line)
        if not entry_numbers.is_well_formed(number):
            problems.append(f"“{line}” is not an entry number (11 characters, e.g. ABC-1234567-6).")
        elif not entry_numbers.is_valid(number):
            expected = entry_numbers.check_digit(number)
            problems.append(
                f"{entry_numbers.display(number)}: the check digit is wrong (a number starting "
                f"{entry_numbers.display(number)[:11]} ends in {expected}); check it against the entry summary."
            )
    return problems


@dataclass(frozen=True)
class Difference:
    field: str
    label: str
    entered: str
    on_file: str


def profile_differences(entered: Mapping[str, str], on_file: Mapping[str, str]) -> list[Difference]:
    """Company details typed in the form that differ from the client profile (and the 5106 name).

    CBP matches them character for character, so only surrounding whitespace is forgiven.
    `on_file` may carry `company_name_5106`: the name on the Form 5106, checked like the legal name.
    """
    found = []
    for field, label in COMPANY_FIELDS:
        typed = (entered.get(field) or "").strip()
        expected = (on_file.get(field) or "").strip()
        if typed != expected:
            found.append(Difference(field, label, typed, expected))
    name_5106 = (on_file.get("company_name_5106") or "").strip()
    typed_name = (entered.get("company_name") or "").strip()
    if name_5106 and typed_name != name_5106:
        found.append(Difference("company_name", "Company name on the Form 5106", typed_name, name_5106))
    return found


def merge_data(
    *,
    kind: str,
    company: Mapping[str, str],
    importer_numbers: list[str],
    signer_name: str,
    signer_title: str,
    details: str,
    brokerage_name: str,
    letter_date: date,
) -> dict:
    """Everything a letter template prints, as plain JSON-able values (stored on the letter row)."""
    spec = SPECS[kind]
    city_line = " ".join(
        p
        for p in [
            f"{company.get('city')}," if company.get("city") else "",
            company.get("state"),
            company.get("postal_code"),
        ]
        if p
    )
    address = [
        line
        for line in [company.get("address_line1", ""), company.get("address_line2", ""), city_line]
        if line
    ]
    return {
        "kind": kind,
        "subject": spec.subject,
        "company_name": company.get("company_name", ""),
        "address_lines": address,
        "importer_numbers": list(importer_numbers),
        "signer_name": signer_name,
        "signer_title": signer_title,
        "details": _printed_details(kind, detail_lines(details)),
        "brokerage_name": brokerage_name,
        "letter_date": letter_date.isoformat(),
    }


def _printed_details(kind: str, lines: list[str]) -> list[str]:
    if kind in ENTRY_NUMBER_KINDS:  # printed as a person reads them: FFF-NNNNNNN-C
        return [entry_numbers.display(entry_numbers.canonical(line)) for line in lines]
    return lines


SAMPLE_COMPANY = {
    "company_name": "Sample Imports LLC",
    "address_line1": "100 Harbor Way",
    "address_line2": "Suite 4",
    "city": "Long Beach",
    "state": "CA",
    "postal_code": "90802",
}
SAMPLE_DETAILS = {
    LetterKind.SUB_ACCOUNT: "12-345678900\n12-345678901",
    LetterKind.REACTIVATION: "",
    LetterKind.PAPER_CHECK_WAIVER: "The importer has no account at a US financial institution.",
    LetterKind.REPLACEMENT_REFUND: "ABC12345676\nABC12345684",
    LetterKind.FILING_AUTHORIZATION: "",
}


def sample_data(*, kind: str, brokerage_name: str, letter_date: date) -> dict:
    """Merge data for previewing a template without a client (staff managers check the wording)."""
    return merge_data(
        kind=kind,
        company=SAMPLE_COMPANY,
        importer_numbers=["12-345678900"],
        signer_name="Pat Example",
        signer_title="President (Trade Account Owner)",
        details=SAMPLE_DETAILS[kind],
        brokerage_name=brokerage_name,
        letter_date=letter_date,
    )
