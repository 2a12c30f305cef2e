import io
import zipfile
from datetime import date

import pytest

from domain import cape, entry_numbers


def numbers(count, *, filer="ABC", start=0):
    """``count`` valid canonical entry numbers for ``filer``, serials from ``start``."""
    first_tens = [f"{filer}{serial:07d}" for serial in range(start, start + count)]
    return [first_ten + str(entry_numbers.check_digit(first_ten)) for first_ten in first_tens]


def with_wrong_check_digit(number):
    return number[:10] + str((int(number[10]) + 1) % 10)


def csv_bytes(*lines, ending=b"\r\n"):
    return b"".join(line + ending for line in lines)


VALID = numbers(3)
# An all-digit filer code starting with 0: the kind Excel turns into a 10-digit number.
ZERO_LED = numbers(1, filer="012")[0]


def test_render_file_is_byte_exact_template():
    content = cape.render_file(VALID)

    assert content == b"Entry Number\r\n" + b"".join(n.encode() + b"\r\n" for n in VALID)


def test_render_file_rows_follow_template_rules():
    content = cape.render_file(numbers(50) + [ZERO_LED])

    assert content.startswith(b"Entry Number\r\n")
    assert not content.startswith(b"\xef\xbb\xbf")
    content.decode("ascii")
    assert content.endswith(b"\r\n")
    lines = content.split(b"\r\n")
    assert lines[-1] == b""
    for row in lines[1:-1]:
        assert len(row) == 11
        assert b"," not in row and b"-" not in row and b"\n" not in row and b"\r" not in row
        assert row == row.upper()
    assert ZERO_LED.encode() in lines


def test_line_ending_is_crlf():
    assert cape.LINE_ENDING == "\r\n"
    assert cape.MAX_ENTRIES_PER_FILE == 9999


@pytest.mark.parametrize(
    ("total", "counts"),
    [
        (0, []),
        (1, [1]),
        (9_998, [9_998]),
        (9_999, [9_999]),
        (10_000, [9_999, 1]),
        (19_998, [9_999, 9_999]),
        (19_999, [9_999, 9_999, 1]),
        (100_000, [9_999] * 10 + [10]),
    ],
)
def test_build_files_greedy_at_limit(total, counts):
    files = cape.build_files(numbers(total))

    assert [file.count for file in files] == counts
    assert [file.sequence for file in files] == list(range(1, len(counts) + 1))
    assert all(file.total == len(counts) for file in files)
    for file in files:
        assert file.content.count(b"\r\n") == file.count + 1
        assert cape.validate_file(file.content) == []


def test_build_files_sorts_and_covers_every_number_once():
    given = numbers(25, filer="ZZZ") + numbers(25, filer="AAA")
    files = cape.build_files(reversed(given), limit=10)

    listed = [number for file in files for number in file.entry_numbers]
    assert listed == sorted(given)
    assert [file.count for file in files] == [10, 10, 10, 10, 10]


def test_build_files_is_deterministic():
    given = numbers(30)

    first = cape.build_files(given, limit=7)
    second = cape.build_files(list(reversed(given)), limit=7)

    assert first == second


def test_build_files_canonicalises_dashed_and_lower_case():
    number = VALID[0]
    files = cape.build_files([entry_numbers.display(number).lower(), f"  {VALID[1]} "])

    assert files[0].entry_numbers == tuple(sorted([number, VALID[1]]))
    assert cape.validate_file(files[0].content) == []


@pytest.mark.parametrize("limit", [0, -1, 10_000])
def test_build_files_limit_out_of_range_raises(limit):
    with pytest.raises(ValueError, match="limit"):
        cape.build_files(VALID, limit=limit)


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (with_wrong_check_digit(VALID[0]), "wrong check digit"),
        ("ABC1234567", "10 characters, not 11"),
        ("ABC123456766", "12 characters, not 11"),
        ("AB_12345676", "not a 3-character filer code"),
        ("", "0 characters"),
        (entry_numbers.display(with_wrong_check_digit(VALID[0])).lower(), "wrong check digit"),
    ],
)
def test_build_files_invalid_number_raises_naming_it(bad, reason):
    with pytest.raises(cape.CapeFileError) as caught:
        cape.build_files([*VALID, bad])

    assert caught.value.numbers == (bad,)
    assert repr(bad) in str(caught.value)
    assert reason in str(caught.value)


def test_build_files_duplicate_after_canonicalising_raises():
    number = VALID[0]

    with pytest.raises(cape.CapeFileError, match="listed 2 times") as caught:
        cape.build_files([number, entry_numbers.display(number), VALID[1]])

    assert caught.value.numbers == (number,)


def test_build_files_duplicate_across_file_boundary_raises():
    # Sorted, the two copies sit either side of the 10/11 boundary; a per-file check would miss them.
    given = numbers(11)
    given.append(given[9])

    with pytest.raises(cape.CapeFileError, match=given[9]):
        cape.build_files(given, limit=10)


def test_build_files_names_every_bad_number():
    bad = [with_wrong_check_digit(number) for number in numbers(3, start=100)]

    with pytest.raises(cape.CapeFileError) as caught:
        cape.build_files([*VALID, *bad])

    assert caught.value.numbers == tuple(bad)
    for number in bad:
        assert number in str(caught.value)


def test_build_files_many_bad_numbers_message_is_capped():
    bad = [with_wrong_check_digit(number) for number in numbers(500)]

    with pytest.raises(cape.CapeFileError, match="and 480 more") as caught:
        cape.build_files(bad)

    assert len(caught.value.numbers) == 500


@pytest.mark.parametrize(
    ("given", "named", "reason"),
    [
        ([VALID[0], with_wrong_check_digit(VALID[1])], with_wrong_check_digit(VALID[1]), "wrong check digit"),
        ([VALID[0], entry_numbers.display(VALID[1])], entry_numbers.display(VALID[1]), "canonical form"),
        ([VALID[0], VALID[1].lower()], VALID[1].lower(), "canonical form"),
        ([VALID[0], VALID[1] + "\n"], VALID[1] + "\n", "canonical form"),
        ([VALID[0], VALID[0]], VALID[0], "listed 2 times"),
    ],
)
def test_render_file_rejects_bad_number_naming_it(given, named, reason):
    with pytest.raises(cape.CapeFileError) as caught:
        cape.render_file(given)

    assert caught.value.numbers == (named,)
    assert reason in str(caught.value)


@pytest.mark.parametrize(("count", "reason"), [(0, "no entry numbers"), (10_000, "at most 9,999")])
def test_render_file_wrong_size_raises(count, reason):
    with pytest.raises(cape.CapeFileError, match=reason):
        cape.render_file(numbers(count))


def test_render_file_accepts_limit():
    assert cape.render_file(numbers(9_999)).count(b"\r\n") == 10_000


@pytest.mark.parametrize(
    ("limit", "expected"), [(2, [("A", "B"), ("C", "D"), ("E",)]), (5, [tuple("ABCDE")])]
)
def test_split_batches_sorts_then_fills(limit, expected):
    assert cape.split_batches(["E", "C", "A", "D", "B"], limit=limit) == expected


def test_split_batches_empty_gives_none():
    assert cape.split_batches([]) == []


@pytest.mark.parametrize(
    ("sequence", "total", "slug", "importer", "expected"),
    [
        (1, 11, "acme-imports", "", "cape_acme-imports_20260315_all_01of11.csv"),
        (11, 11, "acme-imports", "12-3456789AB", "cape_acme-imports_20260315_123456789AB_11of11.csv"),
        (
            3,
            120,
            "Acme Imports_Ltd/../x",
            "9512-34567",
            "cape_acme-imports-ltd-x_20260315_951234567_003of120.csv",
        ),
        (1, 1, "acme", " ", "cape_acme_20260315_all_01of01.csv"),
    ],
)
def test_cape_file_filename_is_safe(sequence, total, slug, importer, expected):
    file = cape.CapeFile(sequence=sequence, entry_numbers=(), content=b"", total=total)

    assert file.filename(client_slug=slug, as_of=date(2026, 3, 15), importer_number=importer) == expected


def test_cape_file_filename_empty_slug_raises():
    file = cape.CapeFile(sequence=1, entry_numbers=(), content=b"")

    with pytest.raises(ValueError, match="slug"):
        file.filename(client_slug="../", as_of=date(2026, 3, 15))


def test_validate_file_accepts_built_file():
    (file,) = cape.build_files(numbers(100) + [ZERO_LED])

    assert cape.validate_file(file.content) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (csv_bytes(b"Entry Number", *(n.encode() for n in VALID), ending=b"\n"), []),
        (csv_bytes(b"Entry Number", entry_numbers.display(VALID[0]).encode()), []),
    ],
    ids=["lf-endings", "dashed-number"],
)
def test_validate_file_accepts_what_cbp_accepts(content, expected):
    assert cape.validate_file(content) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbf" + csv_bytes(b"Entry Number", VALID[0].encode()), "byte-order mark"),
        (
            csv_bytes(b"Entry Number,Port", VALID[0].encode() + b",2704"),
            "Line 1 must be exactly 'Entry Number'",
        ),
        (csv_bytes(b"Entry Number", VALID[0].encode() + b",2704"), "Line 2 has 2 columns"),
        (csv_bytes(b"entry number", VALID[0].encode()), "Line 1 must be exactly 'Entry Number'"),
        (csv_bytes(VALID[0].encode(), VALID[1].encode()), "Line 1 must be exactly 'Entry Number'"),
        (csv_bytes(b"Entry Number", ZERO_LED[1:].encode()), "lost its leading zero in Excel"),
        (csv_bytes(b"Entry Number", VALID[0].encode(), b"", VALID[1].encode()), "Line 3 is blank"),
        (csv_bytes(b"Entry Number", VALID[0].encode(), b""), "Line 3 is blank"),
        (csv_bytes(b"Entry Number", with_wrong_check_digit(VALID[0]).encode()), "wrong check digit"),
        (csv_bytes(b"Entry Number", VALID[0].lower().encode()), "upper-case"),
        (csv_bytes(b"Entry Number", b'"' + VALID[0].encode() + b'"'), "in quotes"),
        (csv_bytes(b"Entry Number", b" " + VALID[0].encode()), "spaces around it"),
        (
            csv_bytes(b"Entry Number", VALID[0].encode(), VALID[1].encode(), VALID[0].encode()),
            "repeats line 2",
        ),
        (
            csv_bytes(b"Entry Number", VALID[0].encode(), entry_numbers.display(VALID[0]).encode()),
            "repeats line 2",
        ),
        (csv_bytes(b"Entry Number", "ABC\u00a01234567".encode()), "non-ASCII byte"),
        (csv_bytes(b"Entry Number"), "no entry numbers"),
        (b"", "empty"),
    ],
    ids=[
        "bom",
        "two-column-header",
        "two-column-row",
        "lower-case-header",
        "missing-header",
        "excel-stripped-zero",
        "blank-line",
        "trailing-blank-line",
        "check-digit",
        "lower-case-number",
        "quoted-number",
        "padded-number",
        "duplicate",
        "duplicate-dashed",
        "non-ascii",
        "header-only",
        "empty",
    ],
)
def test_validate_file_reports_problem(content, expected):
    problems = cape.validate_file(content)

    assert any(expected in problem for problem in problems), problems


def test_validate_file_reports_too_many_rows():
    content = csv_bytes(b"Entry Number", *(n.encode() for n in numbers(10_000)))

    problems = cape.validate_file(content)

    assert problems == [
        "The file has 10,000 entry numbers; CBP accepts at most 9,999 per file, "
        "so split them across declarations."
    ]


def test_validate_file_accepts_exactly_limit_rows():
    content = csv_bytes(b"Entry Number", *(n.encode() for n in numbers(9_999)))

    assert cape.validate_file(content) == []


def test_validate_file_reports_every_problem_in_one_file():
    content = b"\xef\xbb\xbf" + csv_bytes(
        b"Entry Number", ZERO_LED[1:].encode(), b"", VALID[0].encode() + b",x"
    )

    problems = cape.validate_file(content)

    assert len(problems) == 4


def test_zip_files_is_deterministic_and_holds_named_files():
    files = cape.build_files(numbers(25), limit=10)
    named = [(file.filename(client_slug="acme", as_of=date(2026, 3, 15)), file.content) for file in files]

    first = cape.zip_files(named)
    second = cape.zip_files(named)

    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert archive.namelist() == [name for name, _ in named]
        for name, content in named:
            assert archive.read(name) == content
            assert archive.getinfo(name).date_time == (1980, 1, 1, 0, 0, 0)


@pytest.mark.parametrize(
    "files",
    [[("a.csv", b"1"), ("a.csv", b"2")], [("../a.csv", b"1")], [("dir/a.csv", b"1")], [("", b"1")]],
)
def test_zip_files_bad_names_raise(files):
    with pytest.raises(ValueError):
        cape.zip_files(files)


# --- Filer codes and size (spec §7: a broker declares only its own filer codes; files under 1 MB) ---------


@pytest.mark.parametrize(
    ("setting", "codes"),
    [
        ("", ()),
        ("abc", ("ABC",)),
        (" D9P, abc ,D9P,", ("ABC", "D9P")),
        (["1x2", "ZZZ"], ("1X2", "ZZZ")),
    ],
)
def test_parse_filer_codes(setting, codes):
    assert cape.parse_filer_codes(setting) == codes


@pytest.mark.parametrize("setting", ["AB", "ABCD", "A-C", "ÄBC"])
def test_parse_filer_codes_refuses_what_is_not_a_filer_code(setting):
    with pytest.raises(ValueError, match="3 letters or digits"):
        cape.parse_filer_codes(setting)


def test_validate_file_names_every_foreign_filer_code():
    ours, theirs = numbers(2, filer="ABC"), numbers(1, filer="XYZ", start=5)
    content = cape.render_file(ours + theirs)

    problems = cape.validate_file(content, filer_codes={"ABC"})

    assert problems == [
        f"Line 4: {theirs[0]!r} has filer code XYZ, not one of the brokerage's; CBP fails the whole file "
        "(the importer declares it from its own ACE account)."
    ]
    assert cape.validate_file(content) == []  # the importer's own file may hold any filer code
    assert cape.foreign_filer_codes(ours + theirs, {"ABC"}) == theirs


def test_validate_file_reports_a_file_of_one_megabyte_or_more():
    content = b"Entry Number\r\n" + b"".join(n.encode() + b"\r\n" for n in numbers(9999))
    padded = content + b" " * (cape.MAX_FILE_BYTES - len(content))

    assert len(content) < cape.MAX_FILE_BYTES
    assert any("under 1,000,000 bytes" in p for p in cape.validate_file(padded))


@pytest.mark.parametrize(
    ("importer", "folder"), [("12-345678900", "importer_12345678900"), ("", "importer_unknown")]
)
def test_importer_folder(importer, folder):
    assert cape.importer_folder(importer) == folder
