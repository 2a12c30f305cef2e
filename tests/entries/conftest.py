import pytest

from tests.entries.helpers import SAMPLE_IORS
from tests.factories import ClientFactory, importer_number


@pytest.fixture
def importer(db):
    """A client holding every importer number of the sample reports."""
    client = ClientFactory(slug="importer")
    for numbers in SAMPLE_IORS.values():
        for number in numbers:
            importer_number(client, number)
    return client
