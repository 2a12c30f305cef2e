"""Hostile uploads through the upload page: too large, the wrong kind of file under a report's name, a zip
bomb, XML entity attacks inside a workbook. Each is refused at upload with its reason, its bytes are not
kept, and nothing is imported; a genuine report under the other extension is read by its content.
"""

import io
import json
import os
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from entries.models import Entry, EntryReport
from tests.entries.helpers import SAMPLES
from tests.factories import member, staff_user

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _post(client, importer, name, content):
    client.force_login(member(importer, role="client_admin"))
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})
    return client.post(url, {"files": [SimpleUploadedFile(name, content)]}, follow=True)


def _stored_files(settings) -> set[Path]:
    return {p for p in Path(settings.PRIVATE_STORAGE_ROOT).rglob("*") if p.is_file()}


@pytest.fixture
def kept_before(settings):
    """The private files already on disk (the test session shares one folder)."""
    return _stored_files(settings)


def _assert_refused(response, importer, settings, words: str, kept_before: set):
    page = response.content.decode()
    assert words in page, f"the page does not say why: {words!r}"
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.FAILED
        assert words in report.message and "nothing was imported" in report.message
        assert not report.file, "a refused file must not be kept"
        assert Entry.objects.count() == 0
    assert _stored_files(settings) == kept_before


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _sample_xlsx_with(part: str, transform) -> bytes:
    """The sample workbook, with one part rewritten."""
    source = zipfile.ZipFile(io.BytesIO((SAMPLES / "es003_basic.xlsx").read_bytes()))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members[part] = transform(members[part])
    return _zip(members)


def test_upload_over_the_size_limit_is_refused_and_not_kept(client, importer, settings, kept_before):
    settings.UPLOAD_MAX_BYTES = 10_000
    content = (SAMPLES / "es003_basic.csv").read_bytes()
    assert len(content) > settings.UPLOAD_MAX_BYTES

    response = _post(client, importer, "es003_basic.csv", content)

    assert "the limit is" in response.content.decode()
    with scope(client=importer):
        assert EntryReport.objects.count() == 0
    assert _stored_files(settings) == kept_before


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
MISNAMED = [
    ("PNG renamed .csv", "report.csv", PNG + bytes(range(256)) * 4, "This file is a PNG image"),
    (
        "JPEG renamed .csv",
        "report.csv",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200),
        "This file is a JPEG image",
    ),
    (
        "ZIP renamed .csv",
        "report.csv",
        _zip({"notes.txt": b"hello", "data/report.csv": b"a,b\n1,2\n"}),
        "a ZIP archive but not an Excel workbook",
    ),
    ("gzip renamed .csv", "report.csv", b"\x1f\x8b\x08\x00" + bytes(100), "This file is a gzip archive"),
    (
        "HTML renamed .xlsx",
        "report.xlsx",
        b"<!DOCTYPE html><html><body><script>alert(1)</script><table><tr><td>Entry Summary Number</td></tr>"
        b"</table></body></html>",
        "This file is a web page or XML document",
    ),
    (
        "SVG renamed .csv",
        "report.csv",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "This file is a web page or XML document",
    ),
    ("PDF renamed .xlsx", "report.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "This is a PDF"),
    (
        "old Excel renamed .xlsx",
        "report.xlsx",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
        "old-format Excel",
    ),
    ("program renamed .csv", "report.csv", b"\x7fELF\x02\x01\x01" + bytes(200), "This file is a program"),
    ("binary noise renamed .csv", "report.csv", bytes(range(256)) * 8, "looks like binary data"),
]


@pytest.mark.parametrize(
    ("name", "content", "words"), [m[1:] for m in MISNAMED], ids=[m[0] for m in MISNAMED]
)
def test_file_of_another_kind_under_a_report_name_is_refused_at_upload(
    client, importer, settings, kept_before, name, content, words
):
    response = _post(client, importer, name, content)
    _assert_refused(response, importer, settings, words, kept_before)


@pytest.mark.parametrize(
    ("sample", "name", "file_format"),
    [("es003_basic.csv", "report.xlsx", "csv"), ("es003_basic.xlsx", "report.csv", "xlsx")],
    ids=["CSV renamed .xlsx", "XLSX renamed .csv"],
)
def test_genuine_report_under_the_other_extension_is_read_by_its_content(
    client, importer, django_capture_on_commit_callbacks, sample, name, file_format
):
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, importer, name, (SAMPLES / sample).read_bytes())
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.SUCCEEDED, report.message
        assert report.file_format == file_format
        assert Entry.objects.count() > 0


def _zip_bomb(uncompressed: int) -> bytes:
    """A workbook-shaped archive whose sheet unpacks to `uncompressed` bytes of XML whitespace."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", b'<?xml version="1.0"?><Types/>')
        archive.writestr("xl/workbook.xml", b'<?xml version="1.0"?><workbook/>')
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(b'<?xml version="1.0"?><worksheet><sheetData>')
            chunk = b" " * (1024 * 1024)
            for _ in range(uncompressed // len(chunk)):
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return buffer.getvalue()


BOMB_BYTES = 512 * 1024 * 1024


@pytest.fixture(scope="module")
def zip_bomb():
    return _zip_bomb(BOMB_BYTES)


def _figures(name: str, values: dict) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "security-figures.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = values
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{name}: {values}")


def test_zip_bomb_is_refused_at_upload_quickly_with_bounded_memory(
    client, importer, settings, kept_before, zip_bomb
):
    ratio = BOMB_BYTES / len(zip_bomb)
    tracemalloc.start()
    started = time.perf_counter()
    response = _post(client, importer, "report.xlsx", zip_bomb)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    _assert_refused(
        response, importer, settings, "unpacks to far more data than its size suggests", kept_before
    )
    _figures(
        "zip bomb through the upload page",
        {
            "compressed_bytes": len(zip_bomb),
            "declared_uncompressed_bytes": BOMB_BYTES,
            "ratio": round(ratio),
            "seconds": round(seconds, 3),
            "python_peak_bytes": peak,
        },
    )
    assert seconds < 5
    assert peak < 64 * 1024 * 1024  # the upload itself is ~0.5 MB; nothing may unpack the sheet


def test_zip_bomb_check_alone_stays_small_in_a_fresh_process(tmp_path, zip_bomb):
    """The whole process's peak memory (RSS), not only Python's: zlib's buffers count too."""
    bomb = tmp_path / "bomb.xlsx"
    bomb.write_bytes(zip_bomb)
    # The peak resident size (VmHWM) is reset just before the check (Linux: clear_refs 5), so what it
    # reports afterwards is the check's own peak.
    code = (
        "import os, sys, time; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'brokerage.settings_test');"
        "import django; django.setup(); from entries.ingestion import upload_checks;"
        "hwm = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]);"
        "rss = lambda: int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1]);"
        "open('/proc/self/clear_refs', 'w').write('5'); before = rss(); t = time.perf_counter();"
        "reason = upload_checks.refusal(open(sys.argv[1], 'rb'));"
        "print(time.perf_counter() - t, before, hwm(), repr(reason))"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, cwd=root, check=True
    )
    seconds, before_kb, after_kb, reason = run.stdout.strip().split(" ", 3)

    assert "unpacks to far more data" in reason
    growth = (int(after_kb) - int(before_kb)) * 1024
    _figures(
        "zip bomb check in a fresh process",
        {
            "seconds": round(float(seconds), 4),
            "rss_before_bytes": int(before_kb) * 1024,
            "rss_growth_bytes": growth,
        },
    )
    assert float(seconds) < 1
    assert growth < 32 * 1024 * 1024


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>\n"
)
EXTERNAL_ENTITY = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


@pytest.mark.parametrize(
    ("part", "prolog"),
    [
        ("xl/worksheets/sheet1.xml", BILLION_LAUGHS),
        ("xl/workbook.xml", EXTERNAL_ENTITY),
        ("xl/styles.xml", EXTERNAL_ENTITY),
    ],
    ids=[
        "billion laughs in the shared strings",
        "external entity in the workbook",
        "external entity in a sheet",
    ],
)
def test_xml_entity_attack_inside_a_workbook_is_refused_at_upload(
    client, importer, settings, kept_before, part, prolog
):
    def inject(xml: bytes) -> bytes:
        body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return prolog + body.replace(b"<is><t>", b"<is><t>&lol9;&xxe;", 1)

    content = _sample_xlsx_with(part, inject)
    started = time.perf_counter()
    response = _post(client, importer, "report.xlsx", content)
    seconds = time.perf_counter() - started

    _assert_refused(response, importer, settings, "document type declaration", kept_before)
    assert "root:" not in response.content.decode()  # /etc/passwd was never read into anything
    assert seconds < 5


def test_staff_broker_wide_upload_sniffs_too(client, db, settings, kept_before):
    from entries.models import BrokerReport

    client.force_login(staff_user(manager=True))
    client.post(reverse("staff:broker_reports"), {"file": SimpleUploadedFile("all.csv", PNG)}, follow=True)

    report = BrokerReport.objects.get()
    assert report.status == "failed" and "This file is a PNG image" in report.message
    assert not report.file and _stored_files(settings) == kept_before


def _sample_xlsx_with_shared_strings(table: bytes) -> bytes:
    """The sample workbook with a shared-strings part, declared as Excel declares it."""
    source = zipfile.ZipFile(io.BytesIO((SAMPLES / "es003_basic.xlsx").read_bytes()))
    members = {info.filename: source.read(info) for info in source.infolist()}
    members["xl/sharedStrings.xml"] = table
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    return _zip(members)


def _string_table(count: int) -> bytes:
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    items = b"".join(b"<si><t>REF-%08d</t></si>" % i for i in range(count))
    return b'<?xml version="1.0"?><sst xmlns="%s" uniqueCount="%d">%s</sst>' % (main, count, items)


def test_workbook_with_more_texts_than_a_report_has_is_refused_at_upload(
    client, importer, settings, kept_before
):
    from domain import xlsx

    # The probe's workbook held 5.8 M strings (104 MB) in 13 MB and took a worker to 1 GB; one more than
    # the limit is enough to show the count is checked (its bytes are well under the size limit).
    table = _string_table(xlsx.MAX_SHARED_STRINGS_COUNT + 1)
    assert len(table) < xlsx.MAX_SHARED_STRINGS
    content = _sample_xlsx_with_shared_strings(table)
    started = time.perf_counter()
    response = _post(client, importer, "report.xlsx", content)
    seconds = time.perf_counter() - started

    _assert_refused(response, importer, settings, "1,000,001 different texts", kept_before)
    _figures(
        "workbook with 1,000,001 shared strings through the upload page",
        {"upload_bytes": len(content), "table_bytes": len(table), "seconds": round(seconds, 2)},
    )


def test_workbook_whose_text_table_is_too_large_is_refused(tmp_path):
    from domain import xlsx

    # Few strings, long ones: over the size limit, under the count limit. Random text (hex) compresses
    # about 2:1, far from the zip-bomb ratio, so the per-part limit is what refuses it.
    text = os.urandom(xlsx.MAX_SHARED_STRINGS // 2 + 1).hex().encode()
    table = b'<?xml version="1.0"?><sst><si><t>' + text + b"</t></si></sst>"
    assert len(table) > xlsx.MAX_SHARED_STRINGS
    with pytest.raises(
        xlsx.WorkbookRejected, match=r"table of texts unpacks to 64\.\d MB, more than the 64 MB"
    ):
        xlsx.check_archive(io.BytesIO(_sample_xlsx_with_shared_strings(table)))


def test_workbook_with_an_oversized_part_is_refused_at_upload(client, importer, settings, kept_before):
    from domain import xlsx

    padding = b"<!-- " + os.urandom(xlsx.MAX_OTHER_PART // 2 + 1).hex().encode() + b" -->"

    def pad(xml: bytes) -> bytes:
        return xml.replace(b"</styleSheet>", padding + b"</styleSheet>")

    content = _sample_xlsx_with("xl/styles.xml", pad)
    response = _post(client, importer, "report.xlsx", content)

    _assert_refused(response, importer, settings, "a part far larger than a report needs", kept_before)
    assert "xl/styles.xml" in response.content.decode()


def test_ordinary_workbook_with_a_text_table_is_still_imported(
    client, importer, django_capture_on_commit_callbacks
):
    content = _sample_xlsx_with_shared_strings(_string_table(50_000))
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, importer, "report.xlsx", content)
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.SUCCEEDED, report.message
        assert Entry.objects.count() > 0


class _Body:
    """A request body that counts what is read of it (or refuses to be read at all)."""

    def __init__(self, data: bytes, *, readable: bool = True) -> None:
        self.stream, self.readable, self.read_bytes = io.BytesIO(data), readable, 0

    def read(self, size=-1):
        assert self.readable, "the body was read"
        chunk = self.stream.read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size=-1):
        return self.read(size)


def _multipart(importer, name: str, content: bytes) -> bytes:
    from django.test.client import BOUNDARY, encode_multipart

    return encode_multipart(BOUNDARY, {"files": [SimpleUploadedFile(name, content)]})


def test_upload_declaring_more_than_the_limit_is_refused_before_its_body_is_read(
    client, importer, settings, tmp_path, kept_before
):
    from django.test.client import MULTIPART_CONTENT

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client.force_login(member(importer, role="client_admin"))
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})
    body = _Body(_multipart(importer, "big.csv", b"x" * 1000), readable=False)

    # The probe's 6 GiB: only its Content-Length arrives before the refusal.
    response = client.generic(
        "POST",
        url,
        b"",
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(6 * 1024**3),
        **{"wsgi.input": body},
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "This upload is 6,442 MB" in page and "the limit is 210 MB per file" in page
    assert body.read_bytes == 0
    assert list(tmp_path.iterdir()) == []
    with scope(client=importer):
        assert not EntryReport.objects.exists()
    assert _stored_files(settings) == kept_before


def test_upload_whose_file_passes_the_limit_is_cut_off_as_it_arrives(
    client, importer, settings, tmp_path, kept_before
):
    from django.test.client import MULTIPART_CONTENT

    settings.UPLOAD_MAX_BYTES = 1_000_000
    settings.UPLOAD_REQUEST_MAX_BYTES = 10_000_000  # the declared length passes; the count does not
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1_000  # so that what arrives is written to a temporary file
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    client.force_login(member(importer, role="client_admin"))
    url = reverse("entries:reports", kwargs={"client_slug": importer.slug})
    data = _multipart(importer, "report.csv", b"x" * 5_000_000)
    body = _Body(data)

    response = client.generic(
        "POST",
        url,
        b"",
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(len(data)),
        **{"wsgi.input": body},
    )

    assert response.status_code == 413
    page = response.content.decode()
    assert "report.csv is larger than we accept: the limit is 1 MB per file" in page
    assert body.read_bytes < 1_300_000  # stopped near the limit, not at the end of the 5 MB
    assert list(tmp_path.iterdir()) == []  # the part written so far went with its temporary file
    with scope(client=importer):
        assert not EntryReport.objects.exists()
    assert _stored_files(settings) == kept_before
