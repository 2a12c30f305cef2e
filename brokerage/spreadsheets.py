"""Cells for human-facing CSV/XLSX exports.

A spreadsheet program runs a cell that starts with =, +, -, @ (or a tab/CR that hides one) as a formula;
text from uploads or users is prefixed with an apostrophe so it shows as text. Machine-read files (the
CAPE declaration) never go through this.
"""

import re
from decimal import Decimal

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A plain signed amount ("-5.00") is a number to a spreadsheet, never a formula: left as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?\Z")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    if isinstance(value, (dict, list)):
        return safe_cell(str(value))
    if isinstance(value, Decimal):
        return value
    return value
