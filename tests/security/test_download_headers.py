"""Download names typed by people never change the Content-Disposition header (issue 14, point 6).

A report named `x"; filename*=UTF-8''evil%2Ehtml; a=".csv` used to give its error report a header with an
injected `filename*` parameter, and a non-ASCII name broke the header. Every download now builds the
header with Django's own helper; the header is read back here as a browser would, per RFC 6266/2231.
"""

from email.message import Message

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django_scopes import scope

from entries.models import BrokerReport

INJECTED = "x\"; filename*=UTF-8''evil%2Ehtml; a=\".csv"
NON_ASCII = "Relevé des entrées – 東京 №7.csv"


def _disposition(response) -> tuple[str, list[str]]:
    header = response["Content-Disposition"]
    header.encode("ascii")  # a header a browser can read: non-ASCII only through filename*=
    message = Message()
    message["Content-Disposition"] = header
    names = [name for name, _ in message.get_params(header="content-disposition")]
    return message.get_filename(), names


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0]


@pytest.mark.parametrize("name", [INJECTED, NON_ASCII], ids=["injected", "non-ascii"])
def test_client_downloads_keep_the_name_whole(client, world, admin_a, staff_a, name):
    with scope(client=world.client):
        for obj in (world.report, world.evidence, world.cbp_report):
            obj.original_name = name
            obj.save(update_fields=["original_name"])
    slug = world.client.slug
    downloads = {
        reverse("entries:report_errors", args=[slug, world.report.public_id]): f"errors-{_stem(name)}.csv",
        reverse("entries:report_file", args=[slug, world.report.public_id]): name,
        reverse("clients:onboarding_evidence", args=[slug, world.evidence.public_id]): name,
        reverse("refunds:report_file", args=[slug, world.cbp_report.public_id]): name,
    }
    client.force_login(staff_a)
    for url, expected in downloads.items():
        response = client.get(url)
        assert response.status_code == 200, url
        filename, params = _disposition(response)
        assert filename == expected, f"{url}: {response['Content-Disposition']}"
        assert params == ["attachment", "filename"] or params == ["attachment", "filename*"], params


@pytest.mark.parametrize("name", [INJECTED, NON_ASCII], ids=["injected", "non-ascii"])
def test_staff_not_routed_rows_download_keeps_the_name_whole(client, db, staff_a, name):
    report = BrokerReport.objects.create(original_name=name, sha256="1" * 64, created_by=staff_a)
    report.unmatched_file.save("unmatched.csv", ContentFile(b"row,reason\n"))
    client.force_login(staff_a)

    response = client.get(reverse("staff:broker_report_unmatched", kwargs={"public_id": report.public_id}))

    filename, params = _disposition(response)
    assert filename == f"not-routed-{name}.csv"
    assert params in (["attachment", "filename"], ["attachment", "filename*"])


def test_generated_download_names_are_well_formed(client, world, staff_a):
    slug = world.client.slug
    client.force_login(staff_a)
    urls = [
        reverse("clients:onboarding_window_calendar", args=[slug, world.code_window.public_id]),
        reverse("refunds:declaration_file", args=[slug, world.declaration.public_id]),
        reverse("refunds:batch_zip", args=[slug, world.declaration.batch.public_id]),
        reverse("refunds:report_problems", args=[slug, world.cbp_report.public_id]),
        reverse("entries:list", args=[slug]) + "?export=csv",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        filename, params = _disposition(response)
        assert filename and params in (["attachment", "filename"], ["attachment", "filename*"]), url
