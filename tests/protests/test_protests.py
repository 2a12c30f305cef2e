"""Protest drafts built through the service; their PDF and CSV; filing, decisions, withdrawal, the court deadline."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope
from pypdf import PdfReader

from clients.models import AuditEvent
from domain.interest import estimate_interest
from entries.figures import figures_refresh
from entries.models import Entry
from entries.reminders.feeds import feed_deadlines
from entries.reminders.services import reminders_plan, reminders_send
from protests import decision_lists, documents, following, selectors, services
from protests.models import Protest, ProtestEntry
from refunds.planning import declaration_plan, interest_rate_table
from tests.protests.helpers import IOR_A, build, protest_entries, today

IOR_A2 = "12-345678901"


def file_it(client, actor, protest, number="2704-26-000001", filed_on=None, party="importer"):
    with scope(client=client):
        return following.protest_record_filing(
            actor=actor,
            protest=protest,
            protest_number=number,
            filed_on=filed_on or today(),
            filed_by_party=party,
        )


def test_drafts_group_by_importer_and_port_with_the_174_13_contents(client_a, staff_a, settings):
    settings.BROKERAGE_IMPORTER_NUMBER = "99-000000001"
    from tests.factories import importer_number

    importer_number(client_a, IOR_A2)
    protest_entries(client_a, 3, port="2704", days=100)
    protest_entries(client_a, 2, start=10, port="1001", days=170)
    protest_entries(client_a, 1, start=20, port="2704", importer=IOR_A2)
    protests = build(client_a, staff_a)

    groups = {(p.importer_number, p.port): p.entry_count for p in protests}
    assert groups == {(IOR_A, "2704"): 3, (IOR_A, "1001"): 2, (IOR_A2, "2704"): 1}
    first = protests[0]
    assert (first.port, first.importer_number) == ("1001", IOR_A)  # the nearest deadline first
    assert first.urgent is False and first.earliest_deadline == today() + timedelta(days=10)
    assert first.protestant_name == "Alpha Imports LLC"
    assert "1 Dock Street" in first.protestant_address and "Newark, NJ 07114" in first.protestant_address
    assert first.protestant_importer_number == IOR_A
    assert first.agent_name == settings.BROKERAGE_NAME and first.agent_importer_number == "99-000000001"
    assert "8471.30.0100" in first.merchandise_description
    assert [o["category"] for o in first.objections] == ["ieepa"]
    assert "Learning Resources" in first.objections[0]["justification"]
    with scope(client=client_a):
        line = selectors.protest_lines(protest=first).first()
    with scope(client=client_a):
        rates = interest_rate_table()  # the rates staff keep (refunds.InterestRate)
    expected = estimate_interest(
        principal=Decimal("100.00"), from_date=line.entry_summary_date, to_date=today(), table=rates
    )
    assert line.interest_estimate == expected and line.duty == Decimal("100.00")


def test_day_180_goes_in_day_181_stays_out(client_a, staff_a):
    (inside,) = protest_entries(client_a, 1, days=180)
    (outside,) = protest_entries(client_a, 1, start=1, days=181, path="finally_liquidated")
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        numbers = list(selectors.protest_lines(protest=protest).values_list("entry_number", flat=True))
        plan, _ = selectors.protest_plan(client=client_a, as_of=today())
    assert numbers == [inside.entry_number]
    assert protest.urgent is True  # 0 days left
    # The one left out is counted, not forgotten (the next build finds only it).
    assert dict(plan.excluded) == {"deadline_passed": 1}
    with scope(client=client_a), pytest.raises(ValidationError, match="180-day protest deadline has passed"):
        services.protest_entry_add(actor=staff_a, protest=protest, entry_number=outside.entry_number)


def test_an_unliquidated_entry_is_refused(client_a, staff_a):
    protest_entries(client_a, 1)
    (open_entry,) = protest_entries(
        client_a, 1, start=5, days=None, status="unliquidated", path="cape_phase1"
    )
    (protest,) = build(client_a, staff_a)
    with (
        scope(client=client_a),
        pytest.raises(ValidationError, match="unliquidated entry cannot be protested"),
    ):
        services.protest_entry_add(actor=staff_a, protest=protest, entry_number=open_entry.entry_number)


def test_drawback_and_protest_on_file_are_left_out(client_a, staff_a):
    protest_entries(client_a, 1)
    protest_entries(client_a, 1, start=1, path="excluded", exclusion_reason="drawback", drawback=True)
    protest_entries(
        client_a, 1, start=2, path="excluded", exclusion_reason="active_protest", marked_protest=True
    )
    with scope(client=client_a):
        plan, _ = selectors.protest_plan(client=client_a, as_of=today())
    assert plan.entry_count == 1 and dict(plan.excluded) == {"drawback": 1, "protest_on_file": 1}


def test_pdf_holds_every_174_13_element_and_continues_long_lists(client_a, staff_a, settings):
    settings.BROKERAGE_IMPORTER_NUMBER = "99-000000001"
    entries = protest_entries(client_a, 200, days=150)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        pdf = documents.protest_pdf_bytes(protest=protest)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert len(reader.pages) >= 3  # the first sheet and continuation sheets, each headed as one
    for element in (
        "Alpha Imports LLC",  # protestant
        "1 Dock Street",
        IOR_A,
        settings.BROKERAGE_NAME,  # agent
        "1 Harbor Way",
        "99-000000001",
        "8471.30.0100",  # merchandise
        "9903.01 and 9903.02",  # the decision protested
        "Learning Resources",  # the justification
        "19 U.S.C. 1505",  # the relief
        "drawback claim",  # 174.13(a)(9)
        "Port of entry: 2704",
    ):
        assert element in text, element
    liquidated = f"{entries[0].liquidation_date:%m/%d/%Y}"
    for entry in entries:
        assert entry.entry_number in text
    assert text.count(liquidated) >= 200 and "09/01/2025" in text
    assert text.count("CONTINUATION SHEET") == len(reader.pages) - 1


def test_pdf_sheets_are_numbered_n_of_m_and_footed_with_the_protest(client_a, staff_a):
    entries = protest_entries(client_a, 300, days=150)
    (protest,) = build(client_a, staff_a)
    protest.protest_number = "2704-26-000042"  # as filed: the footer names the protest
    protest.protestant_name = 'Alpha "Imports" & Sons <Co>'  # quotes and brackets in the name survive
    # A long objection pushes the form's boxes onto a second page: the count still includes every sheet.
    protest.objections[0]["justification"] = "The duties were assessed without authority. " * 120
    with scope(client=client_a):
        pdf = documents.protest_pdf_bytes(protest=protest)
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]
    total = len(pages)
    first_sheet = [n for n, text in enumerate(pages, 1) if "CONTINUATION SHEET" not in text]
    assert len(first_sheet) >= 2 and first_sheet == list(range(1, len(first_sheet) + 1))
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text, number
        footer = f'Alpha "Imports" & Sons <Co> · importer {IOR_A} · port 2704 · protest 2704-26-000042'
        assert footer in text, number
    listed = " ".join(pages[len(first_sheet) :])
    assert [listed.index(e.entry_number) for e in entries] == sorted(
        listed.index(e.entry_number) for e in entries
    )
    assert f"300 {entries[-1].entry_number}" in listed


def test_csv_lists_entry_number_entry_date_liquidation_date(client_a, staff_a):
    entries = protest_entries(client_a, 2, days=150)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        body = documents.entries_csv(
            selectors.protest_lines(protest=protest).values_list(*documents.CSV_FIELDS)
        )
    liquidated = f"{entries[0].liquidation_date:%m/%d/%Y}"
    assert body.decode().split("\r\n") == [
        "Entry Number,Entry Date,Liquidation Date",
        f"{entries[0].entry_number},09/01/2025,{liquidated}",
        f"{entries[1].entry_number},09/01/2025,{liquidated}",
        "",
    ]


def _urls(client, protest) -> list[str]:
    kwargs = {"client_slug": client.slug, "public_id": protest.public_id}
    return [reverse(f"protests:{name}", kwargs=kwargs) for name in ("detail", "pdf", "csv")]


def test_outsiders_get_404_on_drafts_pdfs_and_csvs(
    client, client_a, staff_a, member_a, member_b, staff_b, client_b, django_capture_on_commit_callbacks
):
    protest_entries(client_a, 2)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a), django_capture_on_commit_callbacks(execute=True):
        document = documents.protest_document_request(actor=staff_a, protest=protest)  # the task runs eagerly
    with scope(client=client_a):
        document.refresh_from_db()
    assert document.status == "succeeded"
    client.force_login(member_a)
    for url in _urls(client_a, protest):
        response = client.get(url)
        assert response.status_code == 200, url
    assert client.get(_urls(client_a, protest)[1]).headers["Content-Type"] == "application/pdf"
    for outsider in (member_b, staff_b):
        client.force_login(outsider)
        for url in _urls(client_a, protest) + _urls(client_b, protest):
            response = client.get(url)
            assert response.status_code == 404, url
            assert b"Alpha" not in response.content


def test_builders_only_build(client, client_a, member_a, admin_a, staff_a, settings):
    protest_entries(client_a, 1)
    url = reverse("protests:new", kwargs={"client_slug": client_a.slug})
    client.force_login(admin_a)
    assert client.get(url).status_code == 404
    settings.PROTESTS_CLIENT_ADMINS_MAY_BUILD = True
    assert client.get(url).status_code == 200
    response = client.post(url, {"as_of": today().isoformat()})
    assert response.status_code == 302
    client.force_login(member_a)
    assert client.get(url).status_code == 404
    page = client.get(reverse("protests:list", kwargs={"client_slug": client_a.slug})).content.decode()
    assert "2704" in page and IOR_A in page


def test_filing_puts_entries_under_protest_at_once(client_a, staff_a):
    entries = protest_entries(client_a, 2)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest)
    with scope(client=client_a):
        stored = list(Entry.objects.filter(pk__in=[e.pk for e in entries]))
        assert {(e.protest_filed, e.refund_path, e.exclusion_reason) for e in stored} == {
            (True, "excluded", "active_protest")
        }
        assert set(ProtestEntry.objects.values_list("status", flat=True)) == {"pending"}
        assert AuditEvent.objects.filter(action="protests.filed").count() == 1
        plan, _ = selectors.protest_plan(client=client_a, as_of=today())
    assert plan.entry_count == 0 and dict(plan.excluded) == {"protest_on_file": 2}


def test_a_filed_protest_keeps_the_entry_out_of_cape(client_a, staff_a):
    (entry,) = protest_entries(client_a, 1, days=40, path="cape_phase1")
    protest_entries(client_a, 1, start=1)
    (protest,) = build(client_a, staff_a)
    with scope(client=client_a):
        services.protest_entry_add(actor=staff_a, protest=protest, entry_number=entry.entry_number)
    file_it(client_a, staff_a, protest)
    with scope(client=client_a):
        Entry.objects.filter(pk=entry.pk).update(refund_path="cape_phase1")  # even with a stale path
        plan = declaration_plan(client=client_a, as_of=today())
    assert plan.count == 0 and plan.held_back == {"active_protest": 1}


def test_the_database_refuses_an_entry_in_two_live_protests(client_a, staff_a):
    (entry,) = protest_entries(client_a, 1)
    (first,) = build(client_a, staff_a)
    with scope(client=client_a):
        second = Protest.objects.create(
            client=client_a,
            category="ieepa",
            importer_number=IOR_A,
            port="2704",
            as_of=today(),
            protestant_name="x",
            protestant_importer_number=IOR_A,
            merchandise_description="x",
            drawback_declaration="x",
        )
        line = ProtestEntry.objects.get(protest=first)
        ProtestEntry.objects.create(
            client=client_a,
            protest=second,
            entry=entry,
            entry_number=entry.entry_number,
            liquidation_date=line.liquidation_date,
            protest_deadline=line.protest_deadline,
            duty=line.duty,
        )
    file_it(client_a, staff_a, first)
    with pytest.raises(ValidationError, match="already under another filed protest"):
        file_it(client_a, staff_a, second, number="2704-26-000002")
    with scope(client=client_a):
        assert ProtestEntry.objects.filter(entry=entry, status__in=ProtestEntry.LIVE).count() == 1
        assert Protest.objects.get(pk=second.pk).status == "draft"


def test_withdrawal_puts_an_ieepa_only_protest_back_on_cape_within_80_days(client_a, staff_a):
    protest_entries(client_a, 1, start=50)
    (protest,) = build(client_a, staff_a)
    (early,) = protest_entries(client_a, 1, days=80, path="cape_phase1")
    with scope(client=client_a):
        services.protest_entry_remove(
            actor=staff_a, protest=protest, entry_number=protest.lines.first().entry_number
        )
        services.protest_entry_add(actor=staff_a, protest=protest, entry_number=early.entry_number)
    file_it(client_a, staff_a, protest)
    with scope(client=client_a):
        assert Entry.objects.get(pk=early.pk).refund_path == "excluded"
        following.protest_withdraw(actor=staff_a, protest=protest)
        entry = Entry.objects.get(pk=early.pk)
        assert (entry.refund_path, entry.protest_filed) == ("cape_phase1", False)
        assert Protest.objects.get(pk=protest.pk).status == "withdrawn"
        assert AuditEvent.objects.filter(action="protests.withdrawn").count() == 1
        assert declaration_plan(client=client_a, as_of=today()).count == 1


def test_withdrawal_is_refused_past_the_80_days(client_a, staff_a):
    protest_entries(client_a, 1, days=81)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest)
    with scope(client=client_a), pytest.raises(ValidationError, match="past the 80-day CAPE window"):
        following.protest_withdraw(actor=staff_a, protest=protest)
    with scope(client=client_a):
        assert Protest.objects.get(pk=protest.pk).status == "filed"
        assert Entry.objects.get().protest_filed is True


def test_denial_starts_the_court_deadline_and_the_reminder_chain(client_a, staff_a, member_a):
    (entry,) = protest_entries(client_a, 1, days=150)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest, filed_on=today() - timedelta(days=30))
    denied_on = today() - timedelta(days=10)
    with scope(client=client_a):
        following.protest_decide(actor=staff_a, protest=protest, decision="denied", decided_on=denied_on)
        stored = Entry.objects.get(pk=entry.pk)
        protest.refresh_from_db()
    court = denied_on + timedelta(days=180)
    assert protest.status == "denied"
    assert (stored.court_deadline, stored.next_deadline, stored.next_deadline_kind) == (
        court,
        court,
        "court_deadline",
    )
    # Seven days before it, the client's people and the assigned staff are reminded.
    day = court - timedelta(days=7)
    plans = reminders_plan(today=day)
    items = {(p.user.pk, i.reason, i.deadline_kind, i.deadline) for p in plans.values() for i in p.items}
    assert (member_a.pk, "deadline", "court_deadline", court) in items
    assert (staff_a.pk, "escalation", "court_deadline", court) in items
    reminders_send(today=day)
    digest = next(m for m in mail.outbox if member_a.email in m.to)
    assert entry.entry_number in digest.body and "court deadline" in digest.body.lower()
    assert [e.entry_number for e in feed_deadlines(user=member_a, today=today())] == [entry.entry_number]


def test_accelerated_disposition_is_deemed_denied_after_30_days(client_a, staff_a):
    protest_entries(client_a, 1, days=170)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest, filed_on=today() - timedelta(days=70))
    requested = today() - timedelta(days=31)
    with scope(client=client_a):
        following.protest_request_accelerated(actor=staff_a, protest=protest, requested_on=requested)
    assert following.protests_deem_denied(today=requested + timedelta(days=29)) == 0
    assert following.protests_deem_denied(today=today()) == 1
    with scope(client=client_a):
        line = ProtestEntry.objects.get()
        protest.refresh_from_db()
    deemed = requested + timedelta(days=30)
    assert (protest.status, line.decision_source, line.decided_on) == ("denied", "deemed", deemed)
    assert line.court_deadline == deemed + timedelta(days=180)
    assert following.protests_deem_denied(today=today()) == 0  # idempotent


def test_decision_list_upload_is_header_tolerant(client_a, staff_a):
    entries = protest_entries(client_a, 3)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest, number="2704-26-000009", filed_on=today() - timedelta(days=5))
    decided = f"{today() - timedelta(days=1):%m/%d/%Y}"
    body = (
        "Protest decisions export\n"
        "PROTEST NO,  entry   number ,Protest Status,Decision Date\n"
        f"2704-26-000009,{entries[0].entry_number},Approved,{decided}\n"
        f"2704-26-000009,{entries[1].entry_number},DENIED,{decided}\n"
        f"2704-26-000009,{entries[2].entry_number},Pending,\n"
    ).encode()
    with scope(client=client_a):
        upload = decision_lists.protest_decision_list_upload(
            actor=staff_a, protest=protest, uploaded=SimpleUploadedFile("d.csv", body), enqueue=False
        )
        decision_lists.protest_decision_list_apply(upload=upload)
        statuses = dict(ProtestEntry.objects.values_list("entry_number", "status"))
        protest.refresh_from_db()
    assert (upload.status, upload.applied, upload.problems) == ("succeeded", 2, [])
    assert statuses == {
        entries[0].entry_number: "allowed",
        entries[1].entry_number: "denied",
        entries[2].entry_number: "pending",
    }
    assert protest.status == "filed"  # one entry still awaits CBP


def test_caseload_counts_protests_and_alerts_flag_entries_in_no_draft(client, client_a, staff_a):
    drafted = protest_entries(client_a, 2, days=175)
    (protest,) = build(client_a, staff_a)
    (undrafted,) = protest_entries(client_a, 1, start=9, days=176)
    with scope(client=client_a):
        Entry.objects.filter(pk__in=[e.pk for e in [*drafted, undrafted]]).update(
            next_deadline_kind="protest_deadline"
        )
        for e in [*drafted, undrafted]:
            Entry.objects.filter(pk=e.pk).update(next_deadline=e.liquidation_date + timedelta(days=180))
    # The rows were written directly, as a fixture: refresh the caseload's stored figures as an import would.
    figures_refresh(client_id=client_a.pk)
    client.force_login(staff_a)
    page = client.get(reverse("staff:caseload")).content.decode()
    assert "1 draft · 0 pending · 0 allowed · 0 denied" in page
    assert "urgent protest" in page  # 5 days left on the draft's nearest entry
    assert f"protest by {undrafted.liquidation_date + timedelta(days=180):%b %-d, %Y}" in page
    alerts = client.get(reverse("staff:deadlines")).content.decode()
    assert alerts.count("no-protest-draft") == 1 and alerts.count("in a protest draft") == 2
    assert protest.entry_count == 2


def test_an_allowed_protest_is_refunded_through_es022_by_entry(client_a, staff_a):
    from tests.refunds.helpers import csv_bytes, process

    allowed, denied = protest_entries(client_a, 2)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest, filed_on=today() - timedelta(days=20))
    with scope(client=client_a):
        following.protest_decide(
            actor=staff_a,
            protest=protest,
            decision="allowed",
            decided_on=today() - timedelta(days=5),
            entry_numbers=[allowed.entry_number],
        )
        following.protest_decide(
            actor=staff_a, protest=protest, decision="denied", decided_on=today() - timedelta(days=5)
        )
    report = process(
        client_a,
        staff_a,
        "es022",
        csv_bytes(
            [
                ["Entry Number", "Principal Amount", "Interest Amount", "Refund Date"],
                [allowed.entry_number, "100.00", "7.25", f"{today():%m/%d/%Y}"],
                [denied.entry_number, "100.00", "7.25", f"{today():%m/%d/%Y}"],
            ]
        ),
    )
    with scope(client=client_a):
        rows = dict(ProtestEntry.objects.values_list("entry_number", "principal_refunded"))
        problems = list(report.problems.values_list("reason", flat=True))
    assert rows == {allowed.entry_number: Decimal("100.00"), denied.entry_number: None}
    assert report.rows_unmatched == 1 and "is in no pending or accepted declaration" in problems[0]


def test_the_entry_page_shows_the_court_deadline(client, client_a, staff_a, member_a):
    (entry,) = protest_entries(client_a, 1, days=150)
    (protest,) = build(client_a, staff_a)
    file_it(client_a, staff_a, protest, filed_on=today() - timedelta(days=30))
    denied_on = today() - timedelta(days=3)
    with scope(client=client_a):
        following.protest_decide(actor=staff_a, protest=protest, decision="denied", decided_on=denied_on)
    client.force_login(member_a)
    page = client.get(
        reverse("entries:detail", kwargs={"client_slug": client_a.slug, "entry_number": entry.entry_number})
    ).content.decode()
    assert "Court deadline (CIT action, denial + 180 days)" in page
    assert f"{denied_on + timedelta(days=180):%Y}" in page


def test_an_urgent_draft_is_flagged_on_every_page(client, client_a, staff_a, member_a):
    protest_entries(client_a, 1, days=176)  # 4 days left
    protest_entries(client_a, 1, start=1, port="1001", days=100)  # 80 days left: not urgent
    client.force_login(staff_a)
    preview = client.get(reverse("protests:new", kwargs={"client_slug": client_a.slug})).content.decode()
    assert preview.count(">Urgent</span>") == 1
    protests = build(client_a, staff_a)
    client.force_login(member_a)
    listing = client.get(reverse("protests:list", kwargs={"client_slug": client_a.slug})).content.decode()
    assert listing.count("Urgent: 4 days left") == 1
    urgent, calm = protests
    for protest, flagged in ((urgent, True), (calm, False)):
        page = client.get(protest.get_absolute_url()).content.decode()
        assert ('id="urgent"' in page) is flagged
