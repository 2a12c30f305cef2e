"""CBP entry numbers: canonical form, check digit (CBP Entry Summary chapter, AE Table 1), display form.

Pure: no Django. An entry number is 11 characters: a 3-character filer code (letters or digits), a
7-digit serial and a check digit. Stored without dashes, upper-case; displayed FFF-NNNNNNN-C.
"""

import re

_CANONICAL = re.compile(r"[A-Z0-9]{3}[0-9]{8}")


def _filer_char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    # A-I -> 1-9, J-R -> 1-9, S-Z -> 2-9 (the table skips 1 for S).
    offset = ord(char) - ord("A")
    if offset < 9:
        return offset + 1
    if offset < 18:
        return offset - 9 + 1
    return offset - 18 + 2


def check_digit(first_ten: str) -> int:
    """The check digit for a filer code + serial (10 characters, canonical case)."""
    digits = [_filer_char_value(c) for c in first_ten[:3]] + [int(c) for c in first_ten[3:10]]
    total = 0
    for position, digit in enumerate(digits, start=1):
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def canonical(text: str) -> str:
    """Upper-case, without dashes or surrounding spaces; does not validate."""
    return text.strip().replace("-", "").upper()


def is_well_formed(number: str) -> bool:
    # fullmatch: "$" would also accept a trailing newline, which would add a line to a CAPE file.
    return bool(_CANONICAL.fullmatch(number))


def is_valid(number: str) -> bool:
    """True for a canonical 11-character number whose check digit is right."""
    return is_well_formed(number) and check_digit(number) == int(number[10])


def display(number: str) -> str:
    """FFF-NNNNNNN-C for a canonical number; anything else unchanged."""
    if len(number) != 11:
        return number
    return f"{number[:3]}-{number[3:10]}-{number[10]}"
