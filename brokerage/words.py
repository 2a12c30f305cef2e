"""How the portal writes numbers, names and codes for a person to read (docs/WORDING.md).

Pure: no Django. Pages, emails, letters and the people's exports use these through the template filters of
clients/templatetags/words.py; machine exports and CBP's files keep the codes and undashed numbers.
"""

import re

# A code as the database stores it: snake_case (not_affected) or dotted (entries.report_imported).
CODE = re.compile(r"^[a-z][a-z0-9]*(?:[_.][a-z0-9]+)+$")

# Words a humanized code keeps in capitals (a fallback label must not read "Ach updated" or "Cape").
_ACRONYMS = {
    "ace": "ACE",
    "ach": "ACH",
    "adcvd": "AD/CVD",
    "cape": "CAPE",
    "cbp": "CBP",
    "csv": "CSV",
    "es022": "ES-022",
    "hts": "HTS",
    "ieepa": "IEEPA",
    "ior": "IOR",
    "pdf": "PDF",
    "poc": "point of contact",
    "tib": "TIB",
    "totp": "TOTP",
    "5106": "5106",
}


def humanize_code(code: str) -> str:
    """The last resort for a code without a label: "entries.flags_changed" -> "Flags changed".

    Every vocabulary has its labels (tests check each code has one); this keeps a code added tomorrow
    without a label from reaching a page as snake_case.
    """
    text = str(code)
    if not CODE.match(text):
        return text
    words = text.rsplit(".", 1)[-1].split("_")
    spelled = [_ACRONYMS.get(word, word) for word in words]
    first = spelled[0]
    return " ".join([first[:1].upper() + first[1:], *spelled[1:]])


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 entry", "2 entries", "1,234 entries" (the count with thousands separators)."""
    word = singular if count == 1 else (plural_form or f"{singular}s")
    return f"{count:,} {word}"


def possessive(name: str) -> str:
    """A name's possessive, the house way: "Alpha Imports LLC's", "Great Lakes Imports'", "Macy's" stays.

    A name already ending in 's (Macy's, Kohl's) is its own possessive: never "Macy's's". A name ending in
    s takes the apostrophe alone ("Ross'", "Great Lakes Imports'"): company names ending in s are mostly
    plurals, and "Imports's" reads wrong.
    """
    name = str(name).rstrip()
    if not name:
        return name
    if name.endswith(("'s", "’s", "'S", "’S")):
        return name
    if name.endswith(("s", "S")):
        return f"{name}'"
    return f"{name}'s"


def hts(digits: str | None) -> str:
    """An HTS number with its dots: 9903.01.24 (8 digits), 8471.30.0100 (10); anything else unchanged."""
    if not digits:
        return ""
    text = str(digits)
    if not text.isdigit():
        return text
    if len(text) not in (8, 10):
        return text
    return f"{text[:4]}.{text[4:6]}.{text[6:]}"
