"""Words a person reads: no internal code on any page, labels from one source per vocabulary, entry numbers
dashed, HTS numbers dotted, counts and possessives right (issue 15; docs/WORDING.md)."""

import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_scopes import scope

from brokerage import words
from clients import audit
from clients.letters.kinds import LetterKind
from clients.models import Letter
from clients.onboarding import ach, code_window
from clients.onboarding import services as onboarding_services
from clients.onboarding.authorizations import filing_authorization_grant
from clients.services import invitation_create
from clients.vocabulary import audit_details, label
from domain import entry_numbers, vocabulary
from entries.models import Entry, EntryHistory, EntryLine, EntryReport, RefundPath, RowRejection
from refunds.services import declaration_batch_build

ROOT = Path(__file__).resolve().parent.parent
IOR = "12-345678900"

# A code as stored: snake_case (not_affected) or an audit action (entries.report_imported).
# A file name (cape_client-a_20261204.csv) is not a code: a word joined to "-" or ".x" is left alone.
SNAKE = re.compile(r"(?<![\w.-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w-]|\.\w)")
DOTTED = re.compile(r"\b(?:client|clients|entries|refunds|onboarding)\.[a-z_]+\b")


class _VisibleText(HTMLParser):
    """The text a person sees: text nodes outside script, style and template (attributes are not read)."""

    HIDDEN = {"script", "style", "template", "head"}

    def __init__(self):
        super().__init__()
        self.depth = 0
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.chunks.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.chunks).split())


# An entry number as stored (ABC12345676): a person reads it dashed (ABC-1234567-6).
UNDASHED = re.compile(r"\b[A-Z0-9]{3}[0-9]{8}\b")


URL = re.compile(r"https?://\S+")


def raw_codes(text: str) -> list[str]:
    text = URL.sub(" ", text)  # an address is for the browser, not read as words
    found = SNAKE.findall(text) + DOTTED.findall(text)
    found += [n for n in UNDASHED.findall(text) if entry_numbers.is_valid(n)]
    return sorted(set(found))


def _valid_number(serial: int) -> str:
    from domain.entry_numbers import check_digit

    return f"ABC{serial:07d}{check_digit(f'ABC{serial:07d}')}"


# Every path with every reason it can carry, and every liquidation status.
ENTRY_KINDS = [
    *[(path, "") for path in RefundPath.values],
    *[("excluded", str(reason)) for reason in vocabulary.REASON_LABELS if "missing" not in reason],
    *[("needs_data", str(reason)) for reason in vocabulary.REASON_LABELS if "missing" in reason],
]


@pytest.fixture
def rich_client(client_a, admin_a, member_a, staff_a, manager, django_capture_on_commit_callbacks):
    """Client A with an entry on every path and reason, every liquidation status, lines of both programs,
    history, a report with a rejected row, a declaration, a letter and the audit events services write."""
    today = timezone.localdate()
    statuses = list(vocabulary.LIQUIDATION_STATUSES)
    with scope(client=client_a), django_capture_on_commit_callbacks(execute=True):
        report = EntryReport.objects.create(
            client=client_a, original_name="es003.csv", sha256="1" * 64, status="succeeded", progress=100
        )
        report.file.save("es003.csv", ContentFile(b"Entry Summary Number\n"))
        RowRejection.objects.create(
            client=client_a, report=report, row_number=2, entry_number="ABC12345676", reason="Duty is missing"
        )
        kinds = list(vocabulary.DEADLINE_LABELS)
        entries = []
        for n, (path, reason) in enumerate(ENTRY_KINDS):
            entry = Entry.objects.create(
                client=client_a,
                entry_number=_valid_number(n + 1),
                entry_type="01",
                importer_number=IOR,
                entry_date=date(2025, 5, 1),
                entry_summary_date=date(2025, 5, 10),
                liquidation_status=statuses[n % len(statuses)],
                liquidation_date=date(2026, 3, 1),
                ieepa_duty=Decimal("1000.00") + n,
                refund_path=path,
                exclusion_reason=reason if path == "excluded" else "",
                next_deadline=today + timedelta(days=10 + n),
                next_deadline_kind=kinds[n % len(kinds)],
                last_report=report,
                classified_as_of=today,
            )
            EntryLine.objects.create(
                client=client_a, entry=entry, line_number=1, ordinal=1, hts="8471300100", duty=Decimal("10")
            )
            EntryLine.objects.create(
                client=client_a,
                entry=entry,
                line_number=1,
                ordinal=2,
                hts="99030124",
                duty=Decimal("900"),
                program="ieepa",
            )
            EntryLine.objects.create(
                client=client_a,
                entry=entry,
                line_number=1,
                ordinal=3,
                hts="99030301",
                duty=Decimal("90"),
                program="section_122",
            )
            EntryHistory.objects.create(
                client=client_a,
                entry=entry,
                field="refund_path",
                from_value="cape_phase1",
                to_value=path,
                effective_on=today,
            )
            entries.append(entry)
        for action in audit.ACTION_LABELS:  # one of every action, so each label is seen
            audit.record(client=client_a, actor=None, action=action, data={"rows_read": 3})
        # What the services themselves write into the audit trail (the newest, on the first page).
        ach.ach_enrollment_update(
            actor=admin_a,
            client=client_a,
            bank_name="First Harbor Bank",
            routing_number="021000021",
            account_last_four="6789",
            status="active",
        )
        onboarding_services.checklist_item_update(
            actor=admin_a, client=client_a, key="ace_account", status="done"
        )
        code_window.form_5106_update(
            actor=admin_a,
            client=client_a,
            company_name_5106="Alpha Imports LLC",
            poc_name="Pat",
            poc_email="pat@alpha.example",
        )
        filing_authorization_grant(
            actor=admin_a, client=client_a, importer_numbers=[IOR], ip_address="192.0.2.1"
        )
        invitation_create(
            actor=admin_a, client=client_a, email="new.hire@alpha.example", role="client_member"
        )
        batch = declaration_batch_build(actor=staff_a, client=client_a, as_of=today)
        Entry.objects.create(  # not in the batch: the CAPE preview lists it
            client=client_a,
            entry_number=_valid_number(900),
            entry_type="01",
            importer_number=IOR,
            entry_date=date(2025, 5, 1),
            entry_summary_date=date(2025, 5, 10),
            liquidation_status="unliquidated",
            ieepa_duty=Decimal("900.00"),
            refund_path="cape_phase1",
            last_report=report,
            classified_as_of=today,
        )
        letter = Letter.objects.create(
            client=client_a,
            kind="replacement_refund",
            version=1,
            status="succeeded",
            data={"kind": "replacement_refund"},
        )
    return {"entries": entries, "report": report, "batch": batch, "letter": letter}


def _client_pages() -> list[str]:
    """Every page name below c/<client_slug>/ that takes no other parameter.

    Read from the routes' text: once the URLconf has been used, Django shares converter dicts between
    routes, so `pattern.converters` no longer tells which parameters a route has.
    """
    found = []

    def walk(patterns, namespace):
        for p in patterns:
            if "<" in str(p.pattern):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, ":".join(n for n in (namespace, p.namespace) if n))
            elif isinstance(p, URLPattern) and p.name:
                found.append(f"{namespace}:{p.name}" if namespace else p.name)

    (client_root,) = [p for p in get_resolver().url_patterns if "<slug:client_slug>" in str(p.pattern)]
    walk(client_root.url_patterns, "")
    return sorted(found)


def _pages_of(world, slug) -> list[str]:
    urls = [reverse(name, kwargs={"client_slug": slug}) for name in _client_pages()]
    urls += [
        reverse("entries:detail", kwargs={"client_slug": slug, "entry_number": e.entry_number})
        for e in world["entries"]
    ]
    urls += [
        reverse("entries:report", kwargs={"client_slug": slug, "public_id": world["report"].public_id}),
        reverse("refunds:batch", kwargs={"client_slug": slug, "public_id": world["batch"].public_id}),
        reverse("clients:letter", kwargs={"client_slug": slug, "public_id": world["letter"].public_id}),
    ]
    today = timezone.localdate().isoformat()
    urls += [  # the previews: what a build or a protest would take, entry by entry
        reverse("refunds:declaration_new", kwargs={"client_slug": slug}) + f"?as_of={today}",
        reverse("protests:new", kwargs={"client_slug": slug}) + f"?as_of={today}",
    ]
    with scope(client=world["batch"].client):
        urls += [
            reverse("refunds:declaration", kwargs={"client_slug": slug, "public_id": d.public_id})
            for d in world["batch"].declarations.all()
        ]
    return urls


@pytest.mark.parametrize("role", ["admin_a", "staff_a"])
def test_no_client_page_shows_a_raw_code(client, client_a, rich_client, request, role):
    client.force_login(request.getfixturevalue(role))
    checked, shown = 0, {}
    for url in _pages_of(rich_client, client_a.slug):
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        if codes := raw_codes(visible_text(response.content.decode())):
            shown[url] = codes
        checked += 1
    assert not shown, f"pages show raw codes: {shown}"
    assert checked >= 25


def test_no_staff_page_shows_a_raw_code(client, client_a, rich_client, manager):
    client.force_login(manager)
    shown = {}
    for name in [
        "staff:caseload",
        "staff:deadlines",
        "staff:onboarding",
        "staff:clients",
        "staff:assignments",
        "staff:cape",
        "staff:letters",
        "staff:broker_reports",
    ]:
        url = reverse(name)
        response = client.get(url)
        assert response.status_code == 200, url
        if codes := raw_codes(visible_text(response.content.decode())):
            shown[url] = codes
    for kind in LetterKind:  # each letter as it prints (the sample a manager checks the wording on)
        url = reverse("staff:letter_sample", kwargs={"kind": kind})
        response = client.get(url)
        assert response.status_code == 200, url
        if codes := raw_codes(visible_text(response.content.decode())):
            shown[url] = codes
    assert not shown, f"pages show raw codes: {shown}"


def test_audit_trail_reads_in_words(client, client_a, rich_client, admin_a):
    client.force_login(admin_a)
    text = visible_text(
        client.get(reverse("clients:audit", kwargs={"client_slug": client_a.slug})).content.decode()
    )
    for phrase in [
        "Report imported",
        "ACH refund details updated",
        "Filing authorization given",
        "Rows read: 3",
    ]:
        assert phrase in text
    assert "Status: Not started → Done" in text and "IP address: 192.0.2.1" in text


def test_entry_page_shows_labels_dotted_hts_and_dashed_numbers(client, client_a, rich_client, staff_a):
    client.force_login(staff_a)
    entry = next(e for e in rich_client["entries"] if e.exclusion_reason == "active_protest")
    text = visible_text(
        client.get(
            reverse(
                "entries:detail", kwargs={"client_slug": client_a.slug, "entry_number": entry.entry_number}
            )
        ).content.decode()
    )
    assert "Excluded" in text and "Active protest" in text
    assert "8471.30.0100" in text and "9903.01.24" in text and "9903.03.01" in text
    assert "IEEPA" in text and "Section 122" in text
    assert entry.entry_number not in text and f"{entry.entry_number[:3]}-{entry.entry_number[3:10]}-" in text


def test_every_audit_action_in_the_code_has_a_label():
    """One source: an action recorded anywhere in the code is in clients.audit.ACTION_LABELS."""
    pattern = re.compile(r'"((?:client|onboarding|entries|refunds|protests)\.[a-z0-9_]+)"')
    recorded = set()
    apps = [p.parent.name for p in ROOT.glob("*/apps.py")]
    assert {"clients", "entries", "refunds"} <= set(apps)
    for app in apps:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            source = path.read_text()
            if "record(" in source or "_audit_result(" in source:
                recorded |= {m for m in pattern.findall(source) if m.split(".")[1] not in {"urls", "staging"}}
    recorded -= {"clients.client", "entries.entry", "entries.entryline", "refunds.rejectionreason"}
    missing = sorted(recorded - set(audit.ACTION_LABELS))
    assert not missing, f"add labels to clients.audit.ACTION_LABELS for {missing}"


def test_every_vocabulary_code_has_a_label():
    assert RefundPath.values == [str(p) for p in vocabulary.RefundPath]  # the model's choices derive
    assert dict(RefundPath.choices) == {str(p): label for p, label in vocabulary.PATH_LABELS.items()}
    assert {str(r) for r in vocabulary.Reason if r} <= {str(r) for r in vocabulary.REASON_LABELS}
    assert set(vocabulary.LIQUIDATION_STATUSES) <= set(vocabulary.LIQUIDATION_STATUS_LABELS)
    assert {str(k) for k in vocabulary.DeadlineKind if k} <= {str(k) for k in vocabulary.DEADLINE_LABELS}
    for code, text in [("cape_phase1", "CAPE Phase 1"), ("active_protest", "Active protest")]:
        assert text in (label(code, "path"), label(code, "reason"))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("entries.some_new_action", "Some new action"),
        ("onboarding.ach_changed", "ACH changed"),
        ("cape_phase9", "CAPE phase9"),
        ("Already words", "Already words"),
    ],
)
def test_a_code_without_a_label_is_humanized_never_shown_raw(code, expected):
    assert words.humanize_code(code) == expected


@pytest.mark.parametrize(
    ("count", "singular", "plural", "expected"),
    [
        (0, "entry", "entries", "0 entries"),
        (1, "entry", "entries", "1 entry"),
        (2, "entry", "entries", "2 entries"),
        (1234, "row", None, "1,234 rows"),
        (1, "row", None, "1 row"),
    ],
)
def test_counts_read_right(count, singular, plural, expected):
    assert words.plural(count, singular, plural) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alpha Imports LLC", "Alpha Imports LLC's"),
        ("Ross", "Ross'"),
        ("Great Lakes Imports", "Great Lakes Imports'"),
        ("Macy's", "Macy's"),
        ("Client's", "Client's"),
        ("", ""),
    ],
)
def test_possessives_never_double(name, expected):
    assert words.possessive(name) == expected


@pytest.mark.parametrize(
    ("digits", "expected"),
    [("99030124", "9903.01.24"), ("8471300100", "8471.30.0100"), ("", ""), (None, ""), ("12345", "12345")],
)
def test_hts_numbers_carry_their_dots(digits, expected):
    assert words.hts(digits) == expected


def test_audit_details_read_in_words():
    pairs = audit_details(
        {"item_status": {"from": "not_started", "to": "done"}, "importer_numbers": [IOR], "ok": True}
    )
    assert pairs == [("Item status", "Not started → Done"), ("Importer numbers", IOR), ("Ok", "Yes")]


@pytest.mark.parametrize(
    "name", ["account_login", "account_reset_password", "account_reset_password_done", "account_signup"]
)
def test_account_pages_offer_no_sign_up_while_it_is_closed(client, db, name):
    response = client.get(reverse(name))
    html = response.content.decode()
    assert reverse("account_signup") not in html
    assert "sign up" not in visible_text(html).lower()


def test_login_page_looks_like_the_portal(client, db):
    html = client.get(reverse("account_login")).content.decode()
    assert 'class="mb-3 field' in html and 'class="form-label" for="id_login"' in html  # the portal's fields
    assert "btn btn-primary" in html and "by invitation" in html


def test_entries_reason_filter_offers_every_reason_from_the_one_list(client, client_a, admin_a):
    client.force_login(admin_a)
    html = client.get(reverse("entries:list", kwargs={"client_slug": client_a.slug})).content.decode()
    select = html[html.index('name="reason"') : html.index("</select>", html.index('name="reason"'))]
    for reason, text in vocabulary.REASON_LABELS.items():
        assert f'value="{reason}"' in select and text in select


def test_emails_a_person_reads_show_no_raw_code(client_a, rich_client, admin_a, mailoutbox):
    """The reminder digest (deadlines and path changes) and the emails the fixture's actions sent."""
    from entries.reminders.services import reminders_send

    reminders_send(today=timezone.localdate())
    assert any("Deadlines to act on" in m.subject for m in mailoutbox)
    for message in mailoutbox:
        texts = [message.subject, message.body] + [visible_text(html) for html, _ in message.alternatives]
        for text in texts:
            assert not raw_codes(text), f"“{message.subject}” shows {raw_codes(text)}"
