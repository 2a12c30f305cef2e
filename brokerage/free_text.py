"""Free text never holds a bank account number (issue 14, point 7).

The portal keeps only the last four digits of a refund account (docs/SECURITY.md, "No full bank account
number anywhere"), but notes, names and letter details are typed by people and were found holding whole
account numbers. The rule, for every free-text field people type into:

- an account-number-like run is **8 or more digits**, consecutive or separated by single spaces or dashes
  (`72579151172885`, `7257 9151 1728 85`, `7257-9151-1728-85`): US account numbers run from 4 to 17
  digits, and 8 leaves room for what people legitimately write (amounts with separators, 5-digit ZIP
  codes, short references);
- these are numbers in their own formats, not account numbers, and are allowed as written: importer
  numbers (`NN-NNNNNNNXX`, `NNN-NN-NNNNXX`, `YYDDPP-NNNNN`), entry numbers (`ABC-1234567-6` or
  `ABC12345676`; one whose filer code is all digits only with its correct check digit, `316-1234567-3`), CBP protest numbers (`PPPP-YY-NNNNNN`), dates (`2025-03-01`),
  ZIP+4 codes (`12345-6789`) and US phone numbers (`555-123-4567`, `(555) 123-4567`, `1-555-123-4567`);
- digits joined by dots or slashes are not runs: HTS numbers (`9903.01.25`) and dates (`03/01/2025`).
  (An HTS number written without its dots, 8 or 10 digits, is refused: write it with the dots.)

A 9-digit routing number has its own field (checked by its checksum); only there is it accepted.
Pure: no Django (`brokerage.validators` wraps it for forms).
"""

from __future__ import annotations

import re

from domain.entry_numbers import is_valid as entry_number_is_valid

_DASH = "\\-\u2010\u2011\u2012\u2013\u2014\u2212"  # for a character class: the hyphen escaped
MIN_DIGITS = 8
_RUN = re.compile(rf"(?<![0-9])[0-9](?:[ {_DASH}]?[0-9])+(?![0-9])")

# Allowed formats, matched as whole tokens (not inside a longer run of digits or letters).
_ALLOWED = [
    re.compile(p)
    for p in (
        r"(?<![0-9A-Za-z])\d{2}-\d{7}[0-9A-Z]{2}(?![0-9A-Za-z])",  # importer number (EIN + suffix)
        r"(?<![0-9A-Za-z])\d{3}-\d{2}-\d{4}[0-9A-Z]{2}(?![0-9A-Za-z])",  # importer number (SSN + suffix)
        r"(?<![0-9A-Za-z])\d{6}-\d{5}(?![0-9A-Za-z])",  # importer number (CBP-assigned)
        r"(?<![0-9A-Za-z])\d{4}-\d{2}-\d{6}(?![0-9A-Za-z])",  # CBP protest number
        r"(?<![0-9A-Za-z])\d{4}-\d{2}-\d{2}(?![0-9A-Za-z])",  # ISO date
        r"(?<![0-9A-Za-z])\d{5}-\d{4}(?![0-9A-Za-z])",  # ZIP+4
        r"(?<![0-9A-Za-z])(?:1[ -])?(?:\(\d{3}\) ?|\d{3}[ -.])\d{3}[ -.]\d{4}(?![0-9A-Za-z])",  # US phone
    )
]
_ENTRY_NUMBER = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{3})-?([0-9]{7})-?([0-9])(?![0-9A-Za-z])")


def _mask(match: re.Match) -> str:
    return "#" * len(match.group(0))


def _mask_entry_number(match: re.Match) -> str:
    # A filer code with a letter is no account number whatever its check digit (the letter's own check
    # names a wrong one); an all-digit one counts as an entry number only with the right check digit.
    number = "".join(match.groups()).upper()
    if not match.group(1).isdigit() or entry_number_is_valid(number):
        return "#" * len(match.group(0))
    return match.group(0)


def account_number_like(text: str) -> str | None:
    """The first run of digits in the text that looks like a bank account number, or None."""
    if not text or sum(c.isdigit() for c in text) < MIN_DIGITS:
        return None
    masked = _ENTRY_NUMBER.sub(_mask_entry_number, text)
    for pattern in _ALLOWED:
        masked = pattern.sub(_mask, masked)
    for run in _RUN.finditer(masked):
        if sum(c.isdigit() for c in run.group(0)) >= MIN_DIGITS:
            return run.group(0)
    return None
