"""Two filings at the same moment never put an entry into two live protests (PostgreSQL, two connections)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope

from protests import following
from protests.models import Protest, ProtestEntry
from tests.factories import seed_reference_data
from tests.protests.helpers import IOR_A, build, protest_entries, today


def _second_draft_with_the_same_entries(client, first: Protest) -> Protest:
    """What no build makes but another writer could: a second draft holding the first one's entries."""
    with scope(client=client):
        second = Protest.objects.create(
            client=client,
            category="ieepa",
            importer_number=IOR_A,
            port="2704",
            as_of=today(),
            protestant_name=first.protestant_name,
            protestant_importer_number=IOR_A,
            merchandise_description="x",
            drawback_declaration="x",
        )
        ProtestEntry.objects.bulk_create(
            [
                ProtestEntry(
                    client=client,
                    protest=second,
                    entry_id=line.entry_id,
                    entry_number=line.entry_number,
                    liquidation_date=line.liquidation_date,
                    protest_deadline=line.protest_deadline,
                    duty=line.duty,
                )
                for line in ProtestEntry.objects.filter(protest=first)
            ]
        )
    return second


@pytest.fixture
def protest_templates(transactional_db):
    """The objection templates and interest rates as their data migrations seed them: transactional tests flush
    every table when they end (serialized_rollback would restore them, but collides with other transactional tests)."""
    seed_reference_data()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_two_filings_at_once_leave_each_entry_in_one_live_protest(
    postgresql, protest_templates, client_a, staff_a, round_
):
    protest_entries(client_a, 500)
    (first,) = build(client_a, staff_a)
    second = _second_draft_with_the_same_entries(client_a, first)
    start = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def file(protest: Protest, number: str) -> None:
        # Each thread has its own database connection: two real transactions racing for the same entries.
        try:
            start.wait(timeout=10)
            with scope(client=client_a):
                following.protest_record_filing(
                    actor=staff_a,
                    protest=protest,
                    protest_number=number,
                    filed_on=today(),
                    filed_by_party="importer",
                )
            outcomes[number] = "filed"
        except ValidationError as error:
            outcomes[number] = " ".join(error.messages)
        except Exception as error:  # anything else (a raw IntegrityError) is a failure of the service
            outcomes[number] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=file, args=(first, "2704-26-000001")),
        threading.Thread(target=file, args=(second, "2704-26-000002")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    values = list(outcomes.values())
    assert len(values) == 2 and values.count("filed") == 1, outcomes
    (refused,) = (v for v in values if v != "filed")
    assert isinstance(refused, str) and "already under another filed protest" in refused, refused
    with scope(client=client_a):
        live = list(
            ProtestEntry.objects.filter(status__in=ProtestEntry.LIVE).values_list("entry_id", flat=True)
        )
        assert len(live) == len(set(live)) == 500
        assert sorted(Protest.objects.values_list("status", flat=True)) == ["draft", "filed"]
