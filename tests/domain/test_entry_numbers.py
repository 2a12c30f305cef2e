import pytest

from domain import entry_numbers


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("ABC12345676", True),
        ("SP700000014", True),
        ("99999999990", True),
        ("ABC12345675", False),
        ("SP700000013", False),
        ("99999999991", False),
        ("ABC1234567", False),
        ("ABC123456766", False),
        ("AB_12345676", False),
        ("ABC12345676\n", False),
    ],
)
def test_is_valid_spec_vectors_and_near_misses(number, valid):
    assert entry_numbers.is_valid(number) is valid


@pytest.mark.parametrize(
    ("text", "canonical"),
    [("abc-1234567-6", "ABC12345676"), (" SP7-0000001-4 ", "SP700000014"), ("99999999990", "99999999990")],
)
def test_canonical_strips_dashes_and_uppercases(text, canonical):
    assert entry_numbers.canonical(text) == canonical


def test_display_inserts_dashes():
    assert entry_numbers.display("ABC12345676") == "ABC-1234567-6"


@pytest.mark.parametrize(("letter", "value"), [("A", 1), ("I", 9), ("J", 1), ("R", 9), ("S", 2), ("Z", 9)])
def test_filer_letters_follow_ae_table_1(letter, value):
    assert entry_numbers._filer_char_value(letter) == value
