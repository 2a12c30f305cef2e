"""Cells for human-facing CSV/XLSX exports.

A spreadsheet program runs a cell that starts with =, +, -, @ (or a tab/CR that hides one) as a formula;
text from uploads or users is prefixed with an apostrophe so it shows as text. Machine-read files (the
CAPE declaration) never go through this.
"""

from decimal import Decimal

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    if isinstance(value, (dict, list)):
        return safe_cell(str(value))
    if isinstance(value, Decimal):
        return value
    return value
