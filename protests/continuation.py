"""The continuation sheets of a protest's PDF: its entries, drawn straight into the PDF WeasyPrint writes.

WeasyPrint lays out and draws every line of text through Pango: the 834 lines that list 1,667 entries cost
it about 0.5 s of CPU, 85 % of the whole PDF (profile in docs/PERFORMANCE.md, protests). The sheets are a
fixed grid of monospaced text, so they are written here as PDF text operators in the standard Courier font
(one of the 14 fonts every PDF reader has: nothing to embed or subset), from WeasyPrint's finisher, in a
few milliseconds. The first sheet, with the form's boxes, stays WeasyPrint's. Pure: text in, PDF objects out.
"""

from __future__ import annotations

import math
import re

import pydyf

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US letter, in points, as the first sheet's @page
MARGIN_X = 43.2  # 0.6 in
FONT_SIZE = 7.5
LEADING = 9.75  # 1.3 line height, as the first sheet
BODY_TOP = PAGE_HEIGHT - 68.4 - FONT_SIZE - 3  # under the 0.95 in header
BODY_BOTTOM = 50.4  # the 0.7 in bottom margin
LINES_PER_PAGE = int((BODY_TOP - BODY_BOTTOM) // LEADING) + 1
TITLE = "CONTINUATION SHEET \u2014 entries of the protest (CBP Form 19)"
_CHAR_WIDTH = 0.6 * FONT_SIZE  # Courier: every glyph is 600/1000 em
_SPECIAL = re.compile(rb"([\\()])")


def sheet_count(line_count: int) -> int:
    return math.ceil(line_count / LINES_PER_PAGE) if line_count else 0


def _text(value: str) -> bytes:
    """A PDF literal string in the font's WinAnsiEncoding (cp1252); a character it lacks becomes '?'."""
    return b"(" + _SPECIAL.sub(rb"\\\1", value.encode("cp1252", errors="replace")) + b")"


def _sheet(lines: list[str], *, header: str, footer: str, page_label: str) -> bytes:
    ops = [b"BT", b"/F1 %.2f Tf" % FONT_SIZE, b"%.2f TL" % LEADING]
    ops.append(b"1 0 0 1 %.2f %.2f Tm" % (MARGIN_X, PAGE_HEIGHT - 43.2 - FONT_SIZE))
    ops += [_text(TITLE) + b" Tj", _text(header) + b" '"]
    ops.append(b"1 0 0 1 %.2f %.2f Tm" % (MARGIN_X, BODY_TOP))
    ops.append(_text(lines[0]) + b" Tj")
    ops += [_text(line) + b" '" for line in lines[1:]]
    ops.append(b"1 0 0 1 %.2f %.2f Tm" % (MARGIN_X, BODY_BOTTOM - 22))
    ops.append(_text(footer) + b" Tj")
    right = PAGE_WIDTH - MARGIN_X - _CHAR_WIDTH * len(page_label)
    ops.append(b"1 0 0 1 %.2f %.2f Tm" % (right, BODY_BOTTOM - 22))
    ops += [_text(page_label) + b" Tj", b"ET"]
    rule = PAGE_HEIGHT - 68.4 + 1
    ops.append(b"0.8 w %.2f %.2f m %.2f %.2f l S" % (MARGIN_X, rule, PAGE_WIDTH - MARGIN_X, rule))
    return b"\n".join(ops)


def add_sheets(
    pdf: pydyf.PDF, *, lines: list[str], header: str, footer: str, first_page: int, total_pages: int
) -> int:
    """Append the continuation sheets (numbered from first_page of total_pages) to the PDF; returns how many."""
    font = pydyf.Dictionary(
        {"Type": "/Font", "Subtype": "/Type1", "BaseFont": "/Courier", "Encoding": "/WinAnsiEncoding"}
    )
    pdf.add_object(font)
    resources = pydyf.Dictionary({"Font": pydyf.Dictionary({"F1": font.reference})})
    pdf.add_object(resources)
    count = sheet_count(len(lines))
    for index in range(count):
        chunk = lines[index * LINES_PER_PAGE : (index + 1) * LINES_PER_PAGE]
        label = f"Page {first_page + index} of {total_pages}"
        content = pydyf.Stream([_sheet(chunk, header=header, footer=footer, page_label=label)], compress=True)
        pdf.add_object(content)
        page = pydyf.Dictionary(
            {
                "Type": "/Page",
                "Parent": pdf.pages.reference,
                "MediaBox": pydyf.Array([0, 0, PAGE_WIDTH, PAGE_HEIGHT]),
                "Contents": content.reference,
                "Resources": resources.reference,
            }
        )
        pdf.add_page(page)
    return count
