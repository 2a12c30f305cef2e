"""Two builds of one client at the same moment never put an entry into two declarations (PostgreSQL)."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope

from refunds.models import DeclarationEntry
from refunds.services import declaration_batch_build
from tests.entries.helpers import AS_OF
from tests.refunds.helpers import make_entries


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
def test_concurrent_builds_never_declare_an_entry_twice(postgresql, client_a, staff_a, round_):
    make_entries(client_a, 3000)
    start = threading.Barrier(2)
    outcomes: list = []

    def build() -> None:
        # Each thread has its own database connection, so the two builds are two real transactions.
        try:
            start.wait(timeout=10)
            with scope(client=client_a):
                batch = declaration_batch_build(actor=staff_a, client=client_a, as_of=AS_OF)
            outcomes.append(batch.entry_count)
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        except Exception as error:  # an IntegrityError here would mean the lock did not serialise the builds
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # One build took every entry; the other waited for it, then found nothing left to declare.
    assert len(outcomes) == 2 and outcomes.count(3000) == 1, outcomes
    (other,) = (o for o in outcomes if o != 3000)
    assert isinstance(other, str) and "No entry is eligible" in other, other
    with scope(client=client_a):
        rows = list(DeclarationEntry.objects.values_list("entry_id", flat=True))
    assert len(rows) == len(set(rows)) == 3000
