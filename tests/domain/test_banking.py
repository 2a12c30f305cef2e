import pytest

from domain import banking


@pytest.mark.parametrize("value", ["011000015", "021000021", "121000358", "111000025", " 0210 000 21 "])
def test_routing_number_valid(value):
    assert banking.routing_number_problem(value) is None
    assert banking.is_valid_routing_number(value) is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("021000022", "fails the ABA checksum"),
        ("012000021", "fails the ABA checksum"),
        ("02100002", "exactly 9 digits; you entered 8."),
        ("0210000211", "exactly 9 digits; you entered 10."),
        ("02100002I", "only digits"),
        ("021-000-021", "only digits"),
        ("02100002\u00b9", "only digits"),
        ("500000005", "starts with 00-12, 21-32, 61-72 or 80; this one starts with 50"),
        ("990000000", "this one starts with 99"),
        ("", "Enter the bank's 9-digit routing number."),
        ("   ", "Enter the bank's 9-digit routing number."),
    ],
)
def test_routing_number_invalid_explains(value, expected):
    problem = banking.routing_number_problem(value)

    assert problem is not None and expected in problem
    assert banking.is_valid_routing_number(value) is False


def test_routing_number_checksum_message_says_what_to_do():
    problem = banking.routing_number_problem("021000022")

    assert "mistyped" in problem and "ACH instructions" in problem


@pytest.mark.parametrize("prefix", ["00", "12", "21", "32", "61", "72", "80"])
def test_routing_number_prefix_range_edges_accepted(prefix):
    body = prefix + "000000"
    # Choose the last digit that satisfies the checksum, so only the prefix is under test.
    partial = sum(w * int(d) for w, d in zip((3, 7, 1, 3, 7, 1, 3, 7), body, strict=True))
    value = body + str(-partial % 10)

    assert banking.routing_number_problem(value) is None


@pytest.mark.parametrize("prefix", ["13", "20", "33", "60", "73", "79", "81"])
def test_routing_number_prefix_outside_ranges_rejected(prefix):
    body = prefix + "000000"
    partial = sum(w * int(d) for w, d in zip((3, 7, 1, 3, 7, 1, 3, 7), body, strict=True))
    value = body + str(-partial % 10)

    assert f"starts with {prefix}" in banking.routing_number_problem(value)


@pytest.mark.parametrize("value", ["1234", "0000", " 9876 "])
def test_last_four_valid(value):
    assert banking.last_four_problem(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("123", "you entered 3"),
        ("12a4", "without letters"),
        ("****1234", "without letters"),
        ("12\u00b934", "without letters"),
        ("", "Enter the last four digits"),
    ],
)
def test_last_four_invalid_explains(value, expected):
    assert expected in banking.last_four_problem(value)


@pytest.mark.parametrize("value", ["123456789012", "12345", "1234 5678 9012", "acct 000123456789"])
def test_last_four_full_account_number_is_refused_without_echo(value):
    problem = banking.last_four_problem(value)

    assert "never receives or stores full account numbers" in problem
    assert "last four digits" in problem
    assert value.strip() not in problem
    digits = "".join(c for c in value if c.isdigit())
    assert digits not in problem
    assert digits[-4:] not in problem
