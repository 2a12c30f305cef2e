"""Rule set 2026.2's collection warning (spec §5) as staff and clients see it on the entry pages."""

from decimal import Decimal


def _warned_client(db_client):
    from tests.entries.helpers import upload
    from tests.factories import importer_number

    importer_number(db_client, "27-418305200")
    header = (
        "Entry Summary Number,Entry Type Code,Importer Number,Entry Date,HTS Number - Full,"
        "Line Tariff Duty Amount,Liquidation Status,Liquidation Date\n"
    )
    rows = (
        # IEEPA duty on an entry dated after collection stopped (2026-02-23): kept, warned.
        "ABC12345676,01,27-418305200,03/10/2026,9903.01.25,500.00,Open,\n"
        # 9903.03.01 on an entry dated before Section 122 began: kept, warned.
        "SP700000014,01,27-418305200,02/20/2026,9903.03.01,75.00,Open,\n"
        # In period: no warning.
        "99999999990,01,27-418305200,06/02/2025,9903.01.25,100.00,Open,\n"
    )
    upload(db_client, "warned.csv", (header + rows).encode())


def test_staff_see_the_collection_warning_on_the_entry_page_and_list_clients_do_not(client, importer):
    from django.urls import reverse
    from django_scopes import scope

    from entries.models import Entry
    from tests.factories import assign, member, staff_user

    _warned_client(importer)
    with scope(client=importer):
        entries = {e.entry_number: e for e in Entry.objects.all()}
    assert entries["ABC12345676"].ieepa_duty == Decimal("500.00")
    assert entries["SP700000014"].section_122_duty == Decimal("75.00")
    staff = staff_user()
    assign(importer, staff)
    warning = "Check this entry: duty outside the collection period"
    client.force_login(staff)
    for number, warned in (("ABC12345676", True), ("SP700000014", True), ("99999999990", False)):
        html = client.get(entries[number].get_absolute_url()).content.decode()
        assert (warning in html) is warned, number
    listing = client.get(reverse("entries:list", kwargs={"client_slug": importer.slug})).content.decode()
    assert listing.count(warning) == 2

    client.force_login(member(importer))
    assert warning not in client.get(entries["ABC12345676"].get_absolute_url()).content.decode()
    listing = client.get(reverse("entries:list", kwargs={"client_slug": importer.slug})).content.decode()
    assert warning not in listing
