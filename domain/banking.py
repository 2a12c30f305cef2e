"""Bank details for CBP's ACH refund enrollment: ABA routing numbers and account last-four.

Pure: no Django. The messages are shown to importers as they type, so they say what to do, not only what
is wrong. The portal never holds a full account number: the importer enters that in the ACE Portal itself.
"""

# First two digits of a routing number: the Federal Reserve routing symbol. 00 is the US Government,
# 01-12 the twelve Federal Reserve districts, 21-32 thrift institutions (district + 20), 61-72 electronic
# transactions (district + 60), 80 traveler's checks. Anything else is no bank's number.
_ROUTING_PREFIXES = frozenset(
    [f"{n:02d}" for n in range(0, 13)]
    + [f"{n}" for n in range(21, 33)]
    + [f"{n}" for n in range(61, 73)]
    + ["80"]
)
# str.isdigit also accepts superscripts and other scripts' digits, which no bank form does.
_DIGITS = frozenset("0123456789")
_ROUTING_WEIGHTS = (3, 7, 1, 3, 7, 1, 3, 7, 1)


def _is_ascii_digits(text: str) -> bool:
    return bool(text) and set(text) <= _DIGITS


def routing_number_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an ABA routing number, in plain English; None when it is valid."""
    number = value.replace(" ", "")
    if not number:
        return "Enter the bank's 9-digit routing number."
    if not _is_ascii_digits(number):
        return "A routing number has only digits; remove any letters, dashes or other characters."
    if len(number) != 9:
        return f"A routing number has exactly 9 digits; you entered {len(number)}."
    if sum(weight * int(digit) for weight, digit in zip(_ROUTING_WEIGHTS, number, strict=True)) % 10:
        return (
            "That routing number fails the ABA checksum, so a digit is probably mistyped. Copy it again from "
            "a paper check or from the bank's ACH instructions."
        )
    if number[:2] not in _ROUTING_PREFIXES:
        return (
            f"A US routing number starts with 00-12, 21-32, 61-72 or 80; this one starts with {number[:2]}. "
            "Copy it again from a paper check or from the bank's ACH instructions."
        )
    return None


def is_valid_routing_number(value: str) -> bool:
    return routing_number_problem(value) is None


def last_four_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an account's last four digits; None when it is exactly four digits.

    No message repeats what was typed: a user who pastes a full account number must not see it echoed back
    into the page (and any log or error report that captures it).
    """
    text = value.strip()
    if not text:
        return "Enter the last four digits of the account number."
    if sum(char in _DIGITS for char in text) > 4:
        return (
            "The portal never receives or stores full account numbers. Enter only the last four digits of "
            "the account; the full number goes only into the ACE Portal."
        )
    if not _is_ascii_digits(text):
        return "Enter only the last four digits of the account, without letters, spaces or other characters."
    if len(text) != 4:
        return f"Enter exactly four digits, the last four of the account number; you entered {len(text)}."
    return None
