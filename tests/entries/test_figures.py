"""The dashboard's stored figures equal a fresh recomputation after every kind of change to entries or the ledger.

The oracle sums the rows in Python, independently of entries.figures' grouped queries.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope

from entries.figures import figures_refresh_all
from entries.models import Chapter99Rule, DeadlineFigures, Entry, LedgerFigures, PathFigures
from entries.reclassification import entries_reclassify
from entries.services import entry_set_flags
from entries.tasks import reclassify_after_registry_change, reclassify_all_clients
from refunds.selectors import client_rejections, ledger_totals
from refunds.services import declaration_discard
from refunds.services import declaration_record_filing as record_filing
from tests.entries.helpers import AS_OF, upload
from tests.refunds.helpers import build, csv_bytes, declarations_of, make_entries, make_ready, process

REMINDED = ("cape_window_closes", "protest_deadline", "court_deadline")
NO_LEDGER = {
    "filed": 0,
    "accepted": 0,
    "refunded": 0,
    "refunded_principal": Decimal("0"),
    "open_rejections": 0,
}


def recomputed(client) -> dict:
    with scope(client=client):
        rows = list(
            Entry.objects.values_list("refund_path", "ieepa_duty", "next_deadline", "next_deadline_kind")
        )
        totals = ledger_totals(client=client)
        rejections = client_rejections(client=client).count()
    paths, days = defaultdict(lambda: [0, Decimal("0")]), defaultdict(lambda: [0, Decimal("0")])
    for path, duty, day, kind in rows:
        paths[path][0] += 1
        paths[path][1] += duty
        if kind in REMINDED and day is not None:
            days[kind, day][0] += 1
            days[kind, day][1] += duty
    names = ("filed", "accepted", "refunded", "refunded_principal")
    ledger = {**{name: totals[name] for name in names}, "open_rejections": rejections}
    return {
        "paths": {path: tuple(v) for path, v in paths.items()},
        "days": {day: tuple(v) for day, v in days.items()},
        "ledger": ledger,
    }


def stored(client) -> dict:
    with scope(client=client):
        ledger = LedgerFigures.objects.values(
            "filed", "accepted", "refunded", "refunded_principal", "open_rejections"
        )
        return {
            "paths": {
                p: (n, s) for p, n, s in PathFigures.objects.values_list("refund_path", "entries", "ieepa")
            },
            "days": {
                (k, d): (n, s)
                for k, d, n, s in DeadlineFigures.objects.values_list("kind", "day", "entries", "ieepa")
            },
            "ledger": ledger.first() or NO_LEDGER,  # no row before the first declaration
        }


def assert_fresh(client) -> dict:
    figures = stored(client)
    assert figures == recomputed(client)
    return figures


@pytest.fixture
def loaded(importer):
    upload(importer, "es003_basic.csv")
    return importer


def test_an_import_fills_the_clients_figures(loaded):
    figures = assert_fresh(loaded)
    assert sum(n for n, _ in figures["paths"].values()) == 60 and figures["days"]


def test_a_reimport_that_changes_entries_refreshes_them(loaded):
    before = assert_fresh(loaded)
    upload(loaded, "es003_messy.csv")
    assert assert_fresh(loaded) != before


def test_the_daily_reclassification_refreshes_them(loaded):
    before = assert_fresh(loaded)
    reclassify_all_clients(as_of=(AS_OF + timedelta(days=200)).isoformat())
    assert assert_fresh(loaded)["paths"] != before["paths"]


def test_the_daily_job_repairs_figures_written_behind_the_services_back(loaded):
    with scope(client=loaded):
        Entry.objects.filter(refund_path="cape_phase1").update(ieepa_duty=Decimal("1.00"))  # e.g. a shell fix
    assert stored(loaded) != recomputed(loaded)
    reclassify_all_clients(as_of=AS_OF.isoformat())  # nothing to re-classify; the safety net still runs
    assert_fresh(loaded)


def test_a_staff_flag_refreshes_them(loaded, staff_importer):
    with scope(client=loaded):
        entry = Entry.objects.filter(refund_path="cape_phase1").first()
        entry_set_flags(
            actor=staff_importer,
            entry=entry,
            drawback=True,
            protest=False,
            reconciliation=False,
            note="DB claim 7",
        )
    figures = assert_fresh(loaded)
    assert figures["paths"].get("excluded")


def test_a_registry_change_refreshes_them(loaded):
    before = assert_fresh(loaded)
    Chapter99Rule.objects.create(
        program="ieepa", start="99038800", end="99038899", carries_duty=True, source="test ruling"
    )
    reclassify_after_registry_change()
    after = assert_fresh(loaded)
    assert sum(s for _, s in after["paths"].values()) > sum(s for _, s in before["paths"].values())


def test_a_partial_reclassification_refreshes_them(loaded):
    with scope(client=loaded):
        ids = list(Entry.objects.values_list("pk", flat=True)[:10])
        entries_reclassify(client=loaded, as_of=AS_OF + timedelta(days=400), entry_ids=ids)
    assert_fresh(loaded)


def test_every_ledger_change_refreshes_them(client_a, staff_a, admin_a):
    make_ready(client_a, admin_a)
    make_entries(client_a, 6, duty="1000.00")
    figures_refresh_all()  # make_entries writes rows directly, as a fixture
    assert assert_fresh(client_a)["ledger"] == NO_LEDGER

    (draft,) = declarations_of(build(client_a, staff_a))
    assert assert_fresh(client_a)["ledger"]["filed"] == 0
    with scope(client=client_a):
        declaration_discard(actor=staff_a, declaration=draft)
    assert_fresh(client_a)

    (declaration,) = declarations_of(build(client_a, staff_a))
    with scope(client=client_a):
        filed = record_filing(
            actor=staff_a, declaration=declaration, claim_number="CAPE-0001", filed_on=timezone.localdate()
        )
    assert assert_fresh(client_a)["ledger"]["filed"] == 6

    with scope(client=client_a):
        numbers = list(Entry.objects.order_by("entry_number").values_list("entry_number", flat=True))
    results = [["Claim Number", "Entry Number", "Status", "Reason"]] + [
        ["CAPE-0001", n, "Accepted" if i < 4 else "Rejected", "" if i < 4 else "Missing ACH"]
        for i, n in enumerate(numbers)
    ]
    report = process(client_a, staff_a, "results", csv_bytes(results), declaration=filed)
    assert report.status == "succeeded", report.message
    ledger = assert_fresh(client_a)["ledger"]
    assert (ledger["accepted"], ledger["open_rejections"]) == (4, 2)


@pytest.fixture
def staff_importer(loaded):
    from tests.factories import assign, staff_user

    staff = staff_user()
    assign(loaded, staff)
    return staff
