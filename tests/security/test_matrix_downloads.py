"""Every file a client page hands out (uploaded reports, error CSVs, evidence, letters, CAPE files, exports,
calendar files, the letterhead logo) against every kind of visitor, with client A's files in place.

A's own people get the file and it holds A's data (so the check below it can fail); everyone else gets no
file: 404 (or the login / two-factor page) and none of A's bytes.
"""

import io
import zipfile

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from tests.security import ledger
from tests.tenant_world import ADMIN_ONLY, INSIDERS, OBJECT_KWARGS, OUTSIDERS, ROLES, assert_no_a_data, body

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"ALPHA-LOGO" + b"\x00" * 16


def _zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return "\n".join(
        ",".join(str(c) for c in row if c is not None) for row in book.active.iter_rows(values_only=True)
    )


# (label, url name, extra query, what A's file holds, how to read the body)
DOWNLOADS = [
    ("uploaded ES-003 report", "entries:report_file", "", "ALPHA-REPORT-FILE", None),
    ("import error report CSV", "entries:report_errors", "", "ALPHA-ROW-REASON", None),
    ("entries export CSV", "entries:list", "?export=csv", "ABC12345676", None),
    ("entries export XLSX", "entries:list", "?export=xlsx", "ABC12345676", _xlsx_text),
    ("audit trail export", "clients:audit_export_download", "", "ALPHA-AUDIT-ROW", None),
    ("onboarding evidence file", "clients:onboarding_evidence", "", "ALPHA-EVIDENCE", None),
    ("code window calendar file", "clients:onboarding_window_calendar", "", "pat@alpha.example", None),
    ("letter PDF", "clients:letter_download", "", "ALPHA-LETTER", None),
    ("letterhead logo", "clients:letterhead_logo", "", "ALPHA-LOGO", None),
    ("CAPE declaration file", "refunds:declaration_file", "", "ABC12345676", None),
    ("CAPE batch zip", "refunds:batch_zip", "", "ABC12345676", _zip_text),
    ("uploaded CBP report", "refunds:report_file", "", "ALPHA-CBP-FILE", None),
    ("CBP report problems CSV", "refunds:report_problems", "", "ALPHA-CBP-PROBLEM", None),
]


@pytest.fixture
def files(world):
    world.client.letterhead_logo.save("alpha.png", ContentFile(PNG))
    return world


def _download_url(name, query, w, slug=None):
    kwargs = {"client_slug": slug or w.client.slug}
    if name in OBJECT_KWARGS:
        kwargs.update(OBJECT_KWARGS[name](w))
    return reverse(name, kwargs=kwargs) + query


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("label", "name", "query", "marker", "reader"), DOWNLOADS, ids=[d[0] for d in DOWNLOADS]
)
def test_download_goes_only_to_the_clients_people(
    client, files, request, label, name, query, marker, reader, role
):
    url = _download_url(name, query, files)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = client.get(url)

    if role in ("anonymous", "inactive_a"):
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    elif role == "staff_nomfa_a":
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    elif role in OUTSIDERS or (role == "member_a" and name in ADMIN_ONLY):
        assert response.status_code == 404, f"{role} must not download the {label}"
    else:
        assert response.status_code == 200, f"{role} should download the {label}"
        data = body(response)
        text = reader(data) if reader else data.decode("utf-8", "replace")
        assert marker in text, f"the {label} does not hold client A's data: the check proves nothing"
    if role not in INSIDERS:
        assert_no_a_data(response, url, role)
        assert marker.encode() not in body(response)
    ledger.record("file download", url, role, response.status_code)


# Files that are one of A's objects (the export and the logo are B's own under B's URL).
OBJECT_DOWNLOADS = [d for d in DOWNLOADS if d[1] in OBJECT_KWARGS]


@pytest.mark.parametrize("role", ["member_b", "admin_b", "staff_b", "manager"])
@pytest.mark.parametrize(
    ("label", "name", "query", "marker", "reader"), OBJECT_DOWNLOADS, ids=[d[0] for d in OBJECT_DOWNLOADS]
)
def test_download_of_a_file_through_b_url_is_404(
    client, files, client_b, request, label, name, query, marker, reader, role
):
    url = _download_url(name, query, files, slug=client_b.slug)
    client.force_login(request.getfixturevalue(role))

    response = client.get(url)

    assert response.status_code == 404
    assert marker.encode() not in body(response)
    ledger.record("file download", url, role, response.status_code)
