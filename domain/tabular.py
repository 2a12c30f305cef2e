"""What every tabular report reader shares (ES-003 in domain.es003, CBP's answers in domain.cbp_reports).

The two readers took copies of these and the copies drifted (only one read UTF-32 or UTF-16 without a
byte-order mark); now there is one of each: the errors with user-facing messages, header matching, cell
quoting for messages, the per-column memo, and the text-encoding sniffer.
"""

import codecs
import re
from collections.abc import Callable
from typing import Any

# How far into a file its format and encoding are judged, and its header row is looked for.
SNIFF_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 20
# An XLSX workbook is a ZIP archive (a local file header, or the end record of an empty archive).
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class FileRejected(Exception):
    """The whole file is rejected; str(exc) is the user-facing message."""


class InvalidValue(ValueError):
    """One cell (or a pair of cells) is wrong; reason is the user-facing text, field the report's field."""

    def __init__(self, reason: str, field: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.field = field


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")


def header_key(text: str) -> str:
    """Case, spaces and punctuation do not count: "  HTS  NUMBER - FULL " == "hts number full"."""
    return _NOT_ALNUM.sub("", text.lower())


def show(value: str, limit: int = 40) -> str:
    """A cell value quoted for a message: short, one line, no control characters."""
    text = _CONTROL.sub("?", value.strip().replace("\n", " ").replace("\r", " "))
    shown = repr(text if len(text) <= limit else text[: limit - 1] + "…")
    if "\ufffd" in text:
        shown += " (the file has bytes that are not valid text in its encoding)"
    return shown


class Memo(dict):
    """parser(text) remembered per distinct text: codes, dates and statuses repeat on almost every row."""

    __slots__ = ("parser",)
    LIMIT = 4096

    def __init__(self, parser: Callable[[str], Any]):
        super().__init__()
        self.parser = parser

    def __missing__(self, text: str) -> Any:
        value = self.parser(text)  # an InvalidValue is not remembered; bad cells are rare
        if len(self) < self.LIMIT:
            self[text] = value
        return value


def sniff_encoding(head: bytes, *, not_readable: str) -> str:
    """Text encoding of a CSV from its first bytes; binary data raises FileRejected(not_readable)."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    # Before UTF-16: a UTF-32 LE mark starts with the UTF-16 LE one.
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        # UTF-16 without a byte-order mark puts a zero beside every ASCII character; anything else
        # with zero bytes is binary.
        even, odd = head[0::2], head[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.01 * len(even):
            encoding = "utf-16-le"
        elif even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.01 * len(odd):
            encoding = "utf-16-be"
        else:
            raise FileRejected(not_readable)
    else:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
            encoding = "utf-8"
        except UnicodeDecodeError:
            # Reports saved by Excel on Windows. A file whose non-UTF-8 bytes come after the first
            # SNIFF_BYTES is read as UTF-8; its bad bytes become U+FFFD and fail the cell they sit in.
            encoding = "cp1252"
    text = head.decode(encoding, "replace")
    if len(_CONTROL.findall(text)) * 100 > len(text):
        raise FileRejected(not_readable)
    return encoding
