"""The entries page: deadline order on every database, sorting, page sizes, numbered pages, search, bulk marks."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from clients.models import AuditEvent
from domain.entry_numbers import check_digit, display
from entries.models import Entry, EntryHistory, EntryLine

# Literal paths: reversing at import time would load the URLconf before pytest-django sets up Django's
# test settings, and the tenant matrix (which walks the URLconf) would then see the wrong patterns.
LIST = "/c/client-a/entries/"
BULK = "/c/client-a/entries/bulk/"


def _number(serial: int, filer: str = "EJ4") -> str:
    first_ten = f"{filer}{serial:07d}"
    return first_ten + str(check_digit(first_ten))


def _entry(
    client, serial, *, days=None, duty="100.00", importer="12-345678900", hts="", filer="EJ4", **extra
):
    today = timezone.localdate()
    with scope(client=client):
        entry = Entry.objects.create(
            client=client,
            entry_number=_number(serial, filer),
            entry_type="01",
            importer_number=importer,
            entry_date=date(2025, 5, 1),
            entry_summary_date=date(2025, 5, 8),
            liquidation_status="unliquidated",
            refund_path="cape_phase1",
            ieepa_duty=Decimal(duty),
            next_deadline=today + timedelta(days=days) if days is not None else None,
            next_deadline_kind="cape_window_closes" if days is not None else "",
            **extra,
        )
        if hts:
            EntryLine.objects.create(client=client, entry=entry, hts=hts, duty=Decimal(duty), program="ieepa")
    return entry


def _listed(html: str) -> list[str]:
    """The entry numbers of the table's rows, in order (as their detail links carry them)."""
    return re.findall(r'href="/c/client-a/entries/([A-Z0-9]{11})/"', html)


def _get(client, **params) -> str:
    response = client.get(LIST, params)
    assert response.status_code == 200
    return response.content.decode()


def test_nearest_deadline_first_and_entries_without_one_last(client, client_a, member_a):
    none = _entry(client_a, 1)  # no deadline: stored first, numbered first, listed last
    later = _entry(client_a, 2, days=40)
    today = _entry(client_a, 3, days=0)
    client.force_login(member_a)

    assert _listed(_get(client)) == [today.entry_number, later.entry_number, none.entry_number]
    # The other way round, the blanks still go last.
    assert _listed(_get(client, sort="-deadline")) == [
        later.entry_number,
        today.entry_number,
        none.entry_number,
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("ieepa", [2, 3, 1]),
        ("-ieepa", [1, 3, 2]),
        ("entry", [1, 2, 3]),
        ("-entry", [3, 2, 1]),
        ("importer", [3, 1, 2]),
        ("-importer", [2, 1, 3]),
    ],
)
def test_sort_by_a_column_either_way(client, client_a, member_a, sort, expected):
    _entry(client_a, 1, duty="900.00", importer="22-000000000")
    _entry(client_a, 2, duty="10.00", importer="33-000000000")
    _entry(client_a, 3, duty="50.00", importer="11-000000000")
    client.force_login(member_a)

    html = _get(client, sort=sort)

    assert _listed(html) == [_number(s) for s in expected]
    key = sort.lstrip("-")
    header = re.search(rf'<th scope="col"[^>]*aria-sort="(\w+)"><a [^>]*href="\?sort=(-?{key})"', html)
    assert header.group(1) == ("descending" if sort.startswith("-") else "ascending")
    assert header.group(2) == (key if sort.startswith("-") else f"-{key}")  # a second click reverses


def test_page_size_choice_and_numbered_pages(client, client_a, member_a):
    for serial in range(1, 61):
        _entry(client_a, serial, days=serial)
    client.force_login(member_a)

    html = _get(client, per="25", page="2")

    assert _listed(html) == [_number(s) for s in range(26, 51)]
    assert '<li class="page-item active" aria-current="page"><span class="page-link">2</span>' in html
    assert 'href="?per=25&amp;page=1">1</a>' in html and 'href="?per=25&amp;page=3">3</a>' in html
    assert '<option value="25" selected>' in html
    assert len(_listed(_get(client, per="7"))) == 50  # not a choice: the default


@pytest.mark.parametrize(
    ("query", "found"),
    [
        (display(_number(1)), [1]),  # dashed entry number
        (_number(1).lower(), [1]),  # undashed, any case
        ("12-3456789", [1, 2]),  # importer number, with its dash
        ("123456789", [1, 2]),  # and without
        ("45-000000000", [3]),
        ("9903.01.24", [2]),  # HTS number with dots
        ("9903012400", [2]),  # without
        ("8471.30", [3]),  # its first digits
        ("ZZZ", []),
    ],
)
def test_search_by_entry_importer_or_hts_number(client, client_a, client_b, member_a, query, found):
    _entry(client_a, 1, hts="0101210010")
    _entry(client_a, 2, hts="9903012400")
    _entry(client_a, 3, importer="45-000000000", hts="8471300100")
    _entry(client_b, 4, importer="12-345678900", hts="9903012400")  # another client's: never listed
    client.force_login(member_a)

    assert sorted(_listed(_get(client, q=query))) == [_number(s) for s in found]


def test_staff_mark_selected_entries_audited_and_reclassified(client, client_a, staff_a):
    one, two, three = (_entry(client_a, s, days=10 + s) for s in (1, 2, 3))
    client.force_login(staff_a)
    page = _get(client)
    assert 'id="bulk-form"' in page
    for mark in ("drawback", "protest", "reconciliation", "surety_paid", "reconciliation_filed"):
        assert f'<option value="mark:{mark}">' in page and f'<option value="clear:{mark}">' in page

    response = client.post(
        BULK,
        {
            "entries": [one.entry_number, two.entry_number],
            "action": "mark:drawback",
            "note": "Drawback claim 2026-0042",
            "next_query": "sort=-ieepa",
        },
        follow=True,
    )

    assert response.redirect_chain[-1][0] == LIST + "?sort=-ieepa"
    assert "on 2 of the 2 selected entries" in response.content.decode()
    with scope(client=client_a):
        marked = {e.entry_number: e for e in Entry.objects.all()}
        assert marked[one.entry_number].marked_drawback and marked[two.entry_number].marked_drawback
        assert not marked[three.entry_number].marked_drawback
        assert marked[one.entry_number].refund_path == "excluded"  # classified again with the flag
        assert marked[three.entry_number].refund_path == "cape_phase1"
        flags = EntryHistory.objects.filter(field=EntryHistory.Field.FLAG)
        assert sorted(flags.values_list("entry__entry_number", "to_value", "actor")) == [
            (one.entry_number, "drawback: yes", staff_a.pk),
            (two.entry_number, "drawback: yes", staff_a.pk),
        ]
        event = AuditEvent.objects.get(action="entries.flags_changed")
    assert event.actor == staff_a and sorted(event.data["entries"]) == [one.entry_number, two.entry_number]

    client.post(BULK, {"entries": [one.entry_number], "action": "clear:drawback", "note": "Claim withdrawn"})
    with scope(client=client_a):
        assert not Entry.objects.get(pk=one.pk).marked_drawback


def test_bulk_marks_need_a_note_and_a_selection(client, client_a, staff_a):
    entry = _entry(client_a, 1)
    client.force_login(staff_a)

    no_note = client.post(BULK, {"entries": [entry.entry_number], "action": "mark:protest"}, follow=True)
    nothing = client.post(BULK, {"action": "mark:protest", "note": "x"}, follow=True)

    assert "Say why" in no_note.content.decode()
    assert "Select at least one entry." in nothing.content.decode()
    with scope(client=client_a):
        assert not Entry.objects.get(pk=entry.pk).marked_protest


def test_bulk_marks_are_staff_only_and_another_clients_entry_is_404(
    client, client_a, client_b, member_a, admin_a, staff_a
):
    mine = _entry(client_a, 1)
    theirs = _entry(client_b, 2)
    data = {"entries": [mine.entry_number], "action": "mark:protest", "note": "Protest 2704-26-000123"}
    for person in (member_a, admin_a):
        client.force_login(person)
        assert 'id="bulk-form"' not in _get(client)
        assert client.post(BULK, data).status_code == 404

    client.force_login(staff_a)
    forged = client.post(BULK, {**data, "entries": [mine.entry_number, theirs.entry_number]})

    assert forged.status_code == 404
    with scopes_disabled():
        assert not Entry.objects.filter(marked_protest=True).exists()
        assert not AuditEvent.objects.filter(action="entries.flags_changed").exists()


@pytest.mark.parametrize("params", [{}, {"sort": "-ieepa", "per": "25"}, {"q": "9903.01"}])
def test_entries_page_queries_do_not_grow_with_entries(
    client, client_a, staff_a, django_assert_max_num_queries, params
):
    client.force_login(staff_a)  # with the bulk form
    _entry(client_a, 1, days=3, hts="9903012400")
    with django_assert_max_num_queries(30) as one:
        _get(client, **params)
    for serial in (2, 3):
        _entry(client_a, serial, days=serial, hts="9903012400")

    with django_assert_max_num_queries(len(one.captured_queries)):
        html = _get(client, **params)

    assert len(_listed(html)) == 3
