"""Request letters: staff preview and generate, the PDF is rendered by a task, everyone in the client downloads.

PDF text is read back with pypdf, so these tests assert what CBP would read.
"""

import html
import io
import re
import time

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from PIL import Image
from pypdf import PdfReader

from clients.letters.kinds import LetterKind
from clients.letters.services import letter_batch_build, letter_pdf, letter_sample_html
from clients.models import AuditEvent, Letter, LetterBatch, OnboardingProfile
from domain.entry_numbers import check_digit, display
from tests.factories import ClientFactory, importer_number, member

KIND_DETAILS = {
    LetterKind.SUB_ACCOUNT: (
        "12-345678911\n12-345678922",
        ["12-345678911", "12-345678922", "Trade Account Owner"],
    ),
    LetterKind.REACTIVATION: ("Last used in 2023.", ["reactivated", "Last used in 2023."]),
    LetterKind.PAPER_CHECK_WAIVER: ("No US bank account.", ["31 CFR 208.4", "No US bank account."]),
    LetterKind.REPLACEMENT_REFUND: ("ABC12345676\nabc-1234568-4", ["ABC-1234567-6", "ABC-1234568-4", "ACH"]),
    LetterKind.FILING_AUTHORIZATION: ("", ["Harbor Line Customs Brokerage", "CAPE refund declarations"]),
}


def _form(**overrides):
    data = {
        "company_name": "Alpha Imports LLC",
        "address_line1": "1 Dock Street",
        "address_line2": "",
        "city": "Newark",
        "state": "NJ",
        "postal_code": "07114",
        "importer_numbers": "12-345678900",
        "signer_name": "Dana Alvarez",
        "signer_title": "President",
        "details": "",
    }
    return {**data, **overrides}


def _new_url(client_a, kind):
    return reverse("clients:letter_new", kwargs={"client_slug": client_a.slug, "kind": kind})


def _generate(web, client_a, kind, capture, **overrides):
    with capture(execute=True):
        response = web.post(_new_url(client_a, kind), {**_form(**overrides), "generate": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        return Letter.objects.order_by("-pk").first()


def _pdf_text(web, client_a, letter) -> tuple[str, PdfReader]:
    response = web.get(
        reverse(
            "clients:letter_download", kwargs={"client_slug": client_a.slug, "public_id": letter.public_id}
        )
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("kind", list(LetterKind))
def test_letter_pdf_prints_client_data_for_every_kind(
    client, client_a, staff_a, member_a, django_capture_on_commit_callbacks, kind
):
    client.force_login(staff_a)
    details, expected = KIND_DETAILS[kind]
    letter = _generate(client, client_a, kind, django_capture_on_commit_callbacks, details=details)
    assert letter.status == Letter.Status.SUCCEEDED, letter.message

    client.force_login(member_a)  # the client's own users download it too
    text, reader = _pdf_text(client, client_a, letter)
    words = _words(text)
    assert len(reader.pages) == 1
    for phrase in [
        "Alpha Imports LLC",
        "1 Dock Street",
        "Newark, NJ 07114",
        "12-345678900",
        "Dana Alvarez",
        *expected,
    ]:
        assert phrase in words, f"{phrase!r} missing from the {kind} PDF"


def test_letter_preview_and_pdf_print_the_same_text(
    client, client_a, staff_a, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    form = _form(details="12-345678911")
    page = client.post(_new_url(client_a, "sub_account"), {**form, "preview": ""}).content.decode()
    frame = client.get(html.unescape(re.search(r'<iframe[^>]* src="([^"]+)"', page).group(1)))
    # The letter's own page may use its inline <style> and the data: logo, nothing else.
    assert frame["Content-Security-Policy"].startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    body = re.search(r"<body>(.*)</body>", frame.content.decode(), re.S).group(1)
    preview_text = _words(html.unescape(re.sub(r"<[^>]+>", " ", body)))

    letter = _generate(
        client, client_a, "sub_account", django_capture_on_commit_callbacks, details="12-345678911"
    )
    pdf_text, _ = _pdf_text(client, client_a, letter)

    # Line breaks differ between a browser and a page; list bullets are drawn, not text (pypdf appends them).
    assert preview_text.replace(" ", "") == _words(pdf_text).replace(" ", "").replace("•", "")
    assert "Alpha Imports LLC" in preview_text and "12-345678911" in preview_text


def test_letter_preview_frame_is_for_staff_only(client, client_a, admin_a):
    client.force_login(admin_a)
    url = reverse("clients:letter_preview", kwargs={"client_slug": client_a.slug, "kind": "reactivation"})
    assert client.get(url).status_code == 404


def test_letter_is_not_rendered_inside_the_request(client, client_a, staff_a):
    client.force_login(staff_a)
    response = client.post(_new_url(client_a, "reactivation"), {**_form(), "generate": ""})
    assert response.status_code == 302
    with scopes_disabled():
        letter = Letter.objects.get()
    assert letter.status == Letter.Status.PENDING and not letter.file
    page = client.get(response.url).content.decode()
    assert "Queued" in page


def test_letter_prints_the_letterhead_logo(client, client_a, staff_a, django_capture_on_commit_callbacks):
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 60, 120)).save(buffer, format="PNG")
    client_a.letterhead_logo.save("logo.png", ContentFile(buffer.getvalue()))
    client.force_login(staff_a)
    letter = _generate(client, client_a, "reactivation", django_capture_on_commit_callbacks)
    _, reader = _pdf_text(client, client_a, letter)
    assert len(reader.pages[0].images) == 1


def test_sub_account_form_warns_when_details_differ_from_profile(client, client_a, staff_a):
    with scope(client=client_a):
        OnboardingProfile.objects.create(client=client_a, company_name_5106="Alpha Imports LLC")
    client.force_login(staff_a)
    url = _new_url(client_a, "sub_account")

    same = client.post(url, {**_form(details="12-345678911"), "preview": ""}).content.decode()
    differs = client.post(
        url,
        {
            **_form(details="12-345678911", company_name="Alpha Imports, LLC", city="Jersey City"),
            "preview": "",
        },
    ).content.decode()

    assert 'id="profile-differences"' not in same
    assert 'id="profile-differences"' in differs
    assert "entered “Alpha Imports, LLC”, on file “Alpha Imports LLC”" in html.unescape(differs)
    assert "entered “Jersey City”, on file “Newark”" in html.unescape(differs)


def test_letter_form_starts_from_the_client_profile(client, client_a, staff_a):
    client.force_login(staff_a)
    page = client.get(_new_url(client_a, "sub_account")).content.decode()
    assert 'value="Alpha Imports LLC"' in page and 'value="1 Dock Street"' in page and "12-345678900" in page


def test_letter_regenerate_creates_a_new_version_and_keeps_the_old(
    client, client_a, staff_a, member_a, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    first = _generate(client, client_a, "reactivation", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(
                "clients:letter_regenerate",
                kwargs={"client_slug": client_a.slug, "public_id": first.public_id},
            )
        )
    with scopes_disabled():
        versions = list(Letter.objects.filter(client=client_a).order_by("version"))
        events = list(AuditEvent.objects.filter(client=client_a, action="client.letter_generated"))
    assert [v.version for v in versions] == [1, 2]
    assert all(v.status == Letter.Status.SUCCEEDED for v in versions)
    assert response.url == versions[1].get_absolute_url()
    assert len(events) == 2 and {e.data["version"] for e in events} == {1, 2}
    assert all(e.actor == staff_a for e in events)

    client.force_login(member_a)
    listing = client.get(reverse("clients:letters", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "v1" in listing and "v2" in listing
    for version in versions:
        assert "Alpha Imports LLC" in _pdf_text(client, client_a, version)[0]


def test_letter_download_gets_404_for_outsiders(
    client, client_a, client_b, staff_a, member_b, staff_b, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    letter = _generate(client, client_a, "reactivation", django_capture_on_commit_callbacks)
    own = reverse(
        "clients:letter_download", kwargs={"client_slug": client_a.slug, "public_id": letter.public_id}
    )
    # A's letter asked for through B's own client URL: B's people pass the client check, not the object's.
    via_b = reverse(
        "clients:letter_download", kwargs={"client_slug": client_b.slug, "public_id": letter.public_id}
    )
    for outsider in (member_b, staff_b):
        client.force_login(outsider)
        assert client.get(own).status_code == 404
        assert client.get(via_b).status_code == 404


def test_client_users_cannot_generate_letters(client, client_a, admin_a):
    client.force_login(admin_a)
    assert client.get(_new_url(client_a, "reactivation")).status_code == 404
    page = client.get(reverse("clients:letters", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "New letter" not in page


def test_letter_unknown_kind_gets_404(client, client_a, staff_a):
    client.force_login(staff_a)
    assert client.get(_new_url(client_a, "love-letter")).status_code == 404


def test_letter_renders_one_page_in_under_half_a_second(db):
    letter_pdf(letter_sample_html(kind="sub_account"))  # the first render loads fonts once per process
    started = time.perf_counter()
    pdf = letter_pdf(letter_sample_html(kind="sub_account"))
    elapsed = time.perf_counter() - started
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    assert elapsed < 0.5


def test_letter_templates_preview_with_sample_data_for_managers(client, manager, staff_a):
    url = reverse("staff:letter_sample", kwargs={"kind": "paper_check_waiver"})
    client.force_login(manager)
    page = client.get(url).content.decode()
    assert "Sample Imports LLC" in page and "31 CFR 208.4" in page
    client.force_login(staff_a)
    assert client.get(url).status_code == 404
    assert client.get(reverse("staff:letters")).status_code == 404


def test_letter_batch_renders_one_letter_per_client_with_progress(
    client, manager, django_capture_on_commit_callbacks
):
    clients = [ClientFactory() for _ in range(3)]
    for n, c in enumerate(clients):
        importer_number(c, f"55-00000{n:02d}00")
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff:letters"), {"kind": "filing_authorization", "clients": [c.pk for c in clients]}
        )
    batch = LetterBatch.objects.get()
    assert response.url == batch.get_absolute_url()
    assert batch.status == LetterBatch.Status.SUCCEEDED and batch.done_count == 3 and batch.progress == 100

    letter_batch_build(batch=batch)  # a redelivered task finds the work done
    with scopes_disabled():
        letters = list(Letter.objects.filter(batch=batch).select_related("client"))
        assert AuditEvent.objects.filter(action="client.letter_generated").count() == 3
    assert len(letters) == 3 and {letter.client for letter in letters} == set(clients)
    for letter in letters:
        text = PdfReader(letter.file.open("rb")).pages[0].extract_text()
        assert letter.client.legal_name in text

    page = client.get(response.url).content.decode()
    assert all(c.legal_name in page for c in clients)


def test_letter_batch_pages_get_404_for_staff_and_client_users(client, manager, staff_a, member_a):
    batch = LetterBatch.objects.create(kind="reactivation", client_ids=[], created_by=manager)
    url = reverse("staff:letter_batch", kwargs={"public_id": batch.public_id})
    for outsider in (staff_a, member_a):
        client.force_login(outsider)
        assert client.get(url).status_code == 404


def test_letter_batch_refuses_kinds_that_need_per_client_facts(client, manager, client_a):
    client.force_login(manager)
    response = client.post(reverse("staff:letters"), {"kind": "sub_account", "clients": [client_a.pk]})
    assert response.status_code == 200
    assert not LetterBatch.objects.exists()


def test_letter_renders_on_a_real_worker(client, celery_worker_process):
    from tests.conftest import wait_for

    acme = ClientFactory(slug="acme", legal_name="Acme Freight Co")
    importer_number(acme, "77-123456700")
    from tests.factories import assign, staff_user

    staff = staff_user()
    assign(acme, staff)
    member(acme)
    client.force_login(staff)
    response = client.post(
        reverse("clients:letter_new", kwargs={"client_slug": "acme", "kind": "reactivation"}),
        {**_form(company_name="Acme Freight Co", importer_numbers="77-123456700"), "generate": ""},
    )
    assert response.status_code == 302

    def finished():
        with scopes_disabled():
            letter = Letter.objects.get()
        return letter if letter.is_finished else None

    letter = wait_for(finished, timeout=60, message="the worker to render the letter")
    assert letter.status == Letter.Status.SUCCEEDED, letter.message
    assert "render_letter" in celery_worker_process.log_path.read_text()
    # The worker loaded WeasyPrint and its fonts when it started, before the letter (not a timing: the
    # machine's load would decide it), so the first letter renders as fast as the rest.
    log = celery_worker_process.log_path.read_text()
    assert log.index("PDF rendering ready") < log.index("render_letter")
    assert "Acme Freight Co" in PdfReader(letter.file.open("rb")).pages[0].extract_text()


def _valid_number(serial: int) -> str:
    return f"ABC{serial:07d}{check_digit(f'ABC{serial:07d}')}"


def test_letter_dates_in_words_and_a_long_list_stays_readable(
    client, client_a, staff_a, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    numbers = [_valid_number(n) for n in range(40)]
    letter = _generate(
        client, client_a, "replacement_refund", django_capture_on_commit_callbacks, details="\n".join(numbers)
    )
    text, reader = _pdf_text(client, client_a, letter)
    day = timezone.localdate()
    assert f"{day:%B} {day.day}, {day.year}" in text and day.isoformat() not in text
    assert len(reader.pages) == 1  # forty entry numbers in three columns: still one page
    assert all(display(number) in text for number in numbers)

    many = [_valid_number(n) for n in range(200)]
    letter = _generate(
        client, client_a, "replacement_refund", django_capture_on_commit_callbacks, details="\n".join(many)
    )
    text, reader = _pdf_text(client, client_a, letter)
    pages = len(reader.pages)
    assert pages > 1 and all(display(number) in text for number in many)
    second = _words(reader.pages[1].extract_text())
    assert "Alpha Imports LLC" in second and f"Page 2 of {pages}" in second  # whose letter, which page
    assert "Page 1" not in _words(reader.pages[0].extract_text())


def test_letter_refuses_an_entry_number_with_a_wrong_check_digit(
    client, client_a, staff_a, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    url = _new_url(client_a, "replacement_refund")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {**_form(details="ABC12345676\nABC12345677\nNOT-A-NUMBER"), "generate": ""}
        )

    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "ABC-1234567-7: the check digit is wrong" in page
    assert "“NOT-A-NUMBER” is not an entry number" in page
    with scopes_disabled():
        assert not Letter.objects.exists()


def test_letter_service_refuses_a_wrong_check_digit_whatever_the_caller(client_a, staff_a):
    from django.core.exceptions import ValidationError

    from clients.letters.services import letter_request

    data = {"kind": "replacement_refund", "details": ["ABC-1234567-7"]}
    with scope(client=client_a), pytest.raises(ValidationError, match="check digit is wrong"):
        letter_request(actor=staff_a, client=client_a, data=data)
