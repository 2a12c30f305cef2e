"""CAPE declaration files, byte for byte as CBP's upload template (ACEP_CapeEntryNumberUploadTemplate) wants.

Pure: no Django. About a third of early CAPE declarations failed CBP's file validation for wrong columns,
byte-order marks, leading zeros Excel had stripped and files over 9,999 rows; this module exists so that a
file the portal writes never does, and so a file someone edited by hand can be checked before upload.

A file is ASCII: the header line ``Entry Number``, then one canonical entry number per line (11 characters,
no dashes, upper-case), every line ending in CRLF, nothing else.
"""

import io
import re
import zipfile
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from domain.entry_numbers import canonical, is_valid, is_well_formed

# The seed's figure; some summaries of CBP's CAPE quick reference guide say 10,000. 9,999 is safe under both.
MAX_ENTRIES_PER_FILE = 9999

# CSMS #68315804: a declaration file must also stay under 1 MB. A full file (9,999 rows of 13 bytes and the
# header) is about 130 kB, so only a broken file could reach it; every file is checked anyway.
MAX_FILE_BYTES = 1_000_000

# What a CSV saved by Excel (i.e. CBP's own template) uses, and what RFC 4180 prescribes.
LINE_ENDING = "\r\n"

HEADER = "Entry Number"

_HEADER_LINE = (HEADER + LINE_ENDING).encode("ascii")
_BOMS = (
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
# A long error message helps nobody; the full list stays on the exception.
_MAX_NAMED_IN_MESSAGE = 20
# Zip members get the earliest timestamp a zip can hold, so the same files always zip to the same bytes.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SLUG_UNSAFE = re.compile(r"[^a-z0-9]+")
_IMPORTER_UNSAFE = re.compile(r"[^A-Z0-9]+")


class CapeFileError(ValueError):
    """Why a CAPE file cannot be written; ``problems`` pairs each offending number with its reason."""

    def __init__(self, problems: Sequence[tuple[str, str]] = (), *, reason: str = ""):
        self.problems = tuple(problems)
        self.numbers = tuple(number for number, _ in self.problems)
        named = [f"{number!r} ({why})" for number, why in self.problems[:_MAX_NAMED_IN_MESSAGE]]
        more = len(self.problems) - len(named)
        if more:
            named.append(f"and {more:,} more")
        super().__init__("Cannot write a CAPE file: " + "; ".join(filter(None, [reason, *named])) + ".")


@dataclass(frozen=True, slots=True)
class CapeFile:
    """One declaration file of a set; ``total`` is the size of the set, for the ``01of11`` in the name."""

    sequence: int
    entry_numbers: tuple[str, ...]
    content: bytes
    total: int = 1

    @property
    def count(self) -> int:
        return len(self.entry_numbers)

    def filename(self, *, client_slug: str, as_of: date, importer_number: str = "", own: bool = False) -> str:
        """``cape_<slug>_<YYYYMMDD>_<importer or 'all'>_<NN>of<NN>.csv``: letters, digits, - and _ only.

        ``own``: a file the importer files from its own ACE account (entries other brokers filed) gets
        ``_own`` after the importer number, so it can never be mistaken for one of the broker's.
        """
        # Underscores separate the parts, so they are squeezed out of the parts themselves.
        slug = _SLUG_UNSAFE.sub("-", client_slug.lower()).strip("-")
        if not slug:
            raise ValueError(f"Client slug {client_slug!r} has no letters or digits to name a file with.")
        # IOR numbers are written with dashes (12-3456789AB, 9512-34567); letters in a suffix are kept so two
        # importers cannot end up with the same file name.
        importer = _IMPORTER_UNSAFE.sub("", importer_number.upper()) or "all"
        if own:
            importer += "_own"
        width = max(2, len(str(self.total)))
        return f"cape_{slug}_{as_of:%Y%m%d}_{importer}_{self.sequence:0{width}d}of{self.total:0{width}d}.csv"


def importer_folder(importer_number: str) -> str:
    """The folder the importer's own files go in: ``importer_<number without dashes>``."""
    return "importer_" + (_IMPORTER_UNSAFE.sub("", importer_number.upper()) or "unknown")


def _is_entry_number(number: str) -> bool:
    # The length test is not redundant: entry_numbers' pattern ends in "$", which also matches before a
    # trailing newline, and a number carrying one would add a line to the file.
    return len(number) == 11 and is_valid(number)


def filer_code(number: str) -> str:
    """The filer code of a canonical entry number: its first three characters (spec §3)."""
    return number[:3].upper()


def parse_filer_codes(text: str | Iterable[str]) -> tuple[str, ...]:
    """The brokerage's filer codes from a setting ("ABC, 1X2" or a list): upper case, sorted, unique.

    ValueError names a code that is not three letters or digits, so a typo fails at start-up instead of
    sending every entry to the importer's own file.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    codes = set()
    for item in items:
        code = item.strip().upper()
        if not code:
            continue
        if len(code) != 3 or not (code.isascii() and code.isalnum()):
            raise ValueError(f"A filer code is 3 letters or digits; {item.strip()!r} is not one.")
        codes.add(code)
    return tuple(sorted(codes))


def foreign_filer_codes(numbers: Iterable[str], filer_codes: Container[str]) -> list[str]:
    """The numbers whose filer code is not one of filer_codes: each would fail a broker's whole file."""
    return [number for number in numbers if filer_code(canonical(number)) not in filer_codes]


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_ENTRIES_PER_FILE:
        raise ValueError(f"limit must be between 1 and {MAX_ENTRIES_PER_FILE:,}; got {limit!r}.")


def _number_problem(number: str) -> str:
    """Why ``number`` is not a canonical, valid entry number (only called for numbers that are not)."""
    fixed = canonical(number)
    if fixed != number and _is_entry_number(fixed):
        return f"not in canonical form; write it as {fixed}"
    if len(number) != 11:
        return f"{len(number)} characters, not 11"
    if not is_well_formed(number):
        return "not a 3-character filer code, 7-digit serial and check digit in upper case"
    return "wrong check digit"


def _invalid(numbers: Sequence[str]) -> list[tuple[str, str]]:
    # is_valid is the only per-row work in the common case; the reasons are worked out for failures only.
    return [(number, _number_problem(number)) for number in numbers if not _is_entry_number(number)]


def _repeated(numbers: Sequence[str]) -> list[tuple[str, str]]:
    if len(set(numbers)) == len(numbers):
        return []
    return [(number, f"listed {count} times") for number, count in Counter(numbers).items() if count > 1]


def _encode(numbers: Sequence[str]) -> bytes:
    # Joined once rather than written row by row: 10,000 rows is one string operation.
    return _HEADER_LINE + (LINE_ENDING.join(numbers) + LINE_ENDING).encode("ascii")


def split_batches(
    entry_numbers: Sequence[str], *, limit: int = MAX_ENTRIES_PER_FILE
) -> list[tuple[str, ...]]:
    """Sorted canonical numbers cut into files of at most ``limit``; expects canonical input, validates none.

    Greedy (every file full but the last) rather than balanced: the broker files one declaration per file in
    the ACE Portal, so the fewest files is the least work, and the same input always gives the same files.
    """
    _check_limit(limit)
    ordered = sorted(entry_numbers)
    return [tuple(ordered[start : start + limit]) for start in range(0, len(ordered), limit)]


def render_file(entry_numbers: Sequence[str]) -> bytes:
    """The bytes of one CAPE file, after checking every number; canonical numbers only.

    Dashed or lower-case numbers are refused rather than fixed: the file must list exactly the numbers the
    caller recorded as declared. ``build_files`` is the entry point that canonicalises.
    """
    if not entry_numbers:
        raise CapeFileError(reason="no entry numbers, and CBP rejects a file with only the header")
    if len(entry_numbers) > MAX_ENTRIES_PER_FILE:
        raise CapeFileError(
            reason=f"{len(entry_numbers):,} entry numbers, and a file holds at most {MAX_ENTRIES_PER_FILE:,}"
        )
    problems = _invalid(entry_numbers) + _repeated(entry_numbers)
    if problems:
        raise CapeFileError(problems)
    return _sized(_encode(entry_numbers))


def _sized(content: bytes) -> bytes:
    if len(content) >= MAX_FILE_BYTES:  # unreachable with 11-character numbers; kept as the promise to CBP
        raise CapeFileError(reason=f"{len(content):,} bytes, and CBP accepts files under {MAX_FILE_BYTES:,}")
    return content


def build_files(entry_numbers: Iterable[str], *, limit: int = MAX_ENTRIES_PER_FILE) -> list[CapeFile]:
    """The declaration files for a set of entries: canonicalised, all checked, sorted, at most ``limit`` each.

    No entries gives no files. Any invalid or repeated number (after canonicalising, so ``abc-1234567-6`` and
    ``ABC12345676`` are the same entry) raises before any file is made; a repeat could otherwise land in two
    files, and CBP must not be sent an entry twice.
    """
    _check_limit(limit)
    given = list(entry_numbers)
    numbers = [canonical(text) for text in given]
    # Invalid numbers are named as the caller wrote them, which is what they can find in their own data;
    # repeats by their canonical form, the one thing the differently written copies have in common.
    invalid = [
        (text, _number_problem(number))
        for text, number in zip(given, numbers, strict=True)
        if not _is_entry_number(number)
    ]
    problems = invalid + _repeated(numbers)
    if problems:
        raise CapeFileError(problems)
    batches = split_batches(numbers, limit=limit)
    return [
        CapeFile(sequence=sequence, entry_numbers=batch, content=_sized(_encode(batch)), total=len(batches))
        for sequence, batch in enumerate(batches, start=1)
    ]


def validate_file(content: bytes, *, filer_codes: Container[str] | None = None) -> list[str]:
    """Problems CBP's file validation would reject ``content`` for, in plain English; empty when it is fine.

    ``filer_codes``: for a file the broker files, the brokerage's filer codes; CBP fails the whole file when
    one entry has another filer code ("Failed initial validation"). None for the importer's own file.

    Works on any file, e.g. one a user edited in Excel. Dashes inside a number are allowed because CBP strips
    them before its 11-character check; LF-only line endings are not reported, as nothing says CBP refuses
    them. Anything else the template does not show (quotes, spaces, lower case) is reported.
    """
    if not content:
        return ["The file is empty; it needs the header 'Entry Number' and at least one entry number."]
    problems: list[str] = []
    if len(content) >= MAX_FILE_BYTES:
        problems.append(
            f"The file is {len(content):,} bytes; CBP accepts files under {MAX_FILE_BYTES:,} bytes."
        )
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            problems.append(
                f"The file starts with a {encoding} byte-order mark; save it as plain CSV (not 'CSV UTF-8')."
            )
            content = content[len(bom) :]
            break
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as error:
        problems.append(
            f"The file contains a non-ASCII byte (0x{content[error.start]:02x} at byte {error.start + 1:,}); "
            "the header and entry numbers are plain letters and digits."
        )
        text = content.decode("ascii", errors="replace")

    lines = text.splitlines()
    if not lines:
        return problems + [f"The file has no header line; line 1 must be exactly '{HEADER}'."]
    first_entry_line = 2
    if lines[0] != HEADER:
        problems.append(
            f"Line 1 must be exactly '{HEADER}' (one column, that spelling and case); it is {lines[0]!r}."
        )
        if _is_entry_number(canonical(lines[0])):
            # The header was deleted rather than misspelt: line 1 is an entry number and is checked as one.
            first_entry_line = 1

    seen: dict[str, int] = {}
    entries = 0
    for line_number, line in enumerate(lines[first_entry_line - 1 :], start=first_entry_line):
        if not line.replace(",", "").strip():
            problems.append(f"Line {line_number} is blank; remove it.")
            continue
        entries += 1
        value, *others = line.split(",")
        if others:
            problems.append(
                f"Line {line_number} has {len(others) + 1} columns; the file must have only '{HEADER}'."
            )
        number = value.replace("-", "")
        problem = _row_problem(value, number)
        if problem:
            problems.append(f"Line {line_number}: {value!r} {problem}.")
        elif number in seen:
            problems.append(
                f"Line {line_number}: {value!r} repeats line {seen[number]}; list each entry once."
            )
        else:
            seen[number] = line_number
            if filer_codes is not None and filer_code(number) not in filer_codes:
                problems.append(
                    f"Line {line_number}: {value!r} has filer code {filer_code(number)}, not one of the "
                    "brokerage's; CBP fails the whole file (the importer declares it from its own ACE account)."
                )

    if entries == 0:
        problems.append("The file has no entry numbers.")
    elif entries > MAX_ENTRIES_PER_FILE:
        problems.append(
            f"The file has {entries:,} entry numbers; CBP accepts at most {MAX_ENTRIES_PER_FILE:,} per file, "
            "so split them across declarations."
        )
    return problems


def _row_problem(value: str, number: str) -> str | None:
    """Why a file's row ``value`` (``number`` once dashes are stripped) is not an entry number CBP accepts."""
    if _is_entry_number(number):
        return None
    if number != number.strip():
        return "has spaces around it; remove them"
    if '"' in number:
        # CBP's template has no quoting; whether its parser unquotes is unknown, so quotes are not risked.
        return "is in quotes; remove them"
    if len(number) != 11:
        reason = f"has {len(number)} characters without dashes, not 11"
        if len(number) == 10 and number.isdigit():
            reason += "; an all-digit number one short has usually lost its leading zero in Excel"
        return reason
    if not is_well_formed(number):
        return (
            "is not a 3-character filer code, 7-digit serial and check digit in upper-case letters and digits"
        )
    return "has the wrong check digit; a character is probably mistyped"


def zip_files(files: Sequence[tuple[str, bytes]]) -> bytes:
    """A zip of ``(name, content)`` pairs, in the order given, that is byte-identical for the same input."""
    repeated = sorted(name for name, count in Counter(name for name, _ in files).items() if count > 1)
    if repeated:
        raise ValueError(f"Each file in the zip needs its own name; repeated: {', '.join(repeated)}.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise ValueError(f"Zip member name {name!r} must be a plain file name.")
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            # Fixed so the bytes do not depend on the machine or umask that made them.
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()
