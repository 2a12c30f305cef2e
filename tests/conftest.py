import pytest
from django_scopes import scopes_disabled

from tests.factories import ClientFactory, assign, importer_number, member, staff_user


@pytest.fixture
def client_a(db):
    client = ClientFactory(slug="client-a", legal_name="Alpha Imports LLC")
    importer_number(client, "12-345678900")
    return client


@pytest.fixture
def client_b(db):
    client = ClientFactory(slug="client-b", legal_name="Bravo Trading Inc.")
    importer_number(client, "98-765432100")
    return client


@pytest.fixture
def admin_a(client_a):
    return member(client_a, role="client_admin")


@pytest.fixture
def member_a(client_a):
    return member(client_a)


@pytest.fixture
def admin_b(client_b):
    return member(client_b, role="client_admin")


@pytest.fixture
def member_b(client_b):
    return member(client_b)


@pytest.fixture
def staff_a(client_a):
    staff = staff_user()
    assign(client_a, staff)
    return staff


@pytest.fixture
def staff_b(client_b):
    staff = staff_user()
    assign(client_b, staff)
    return staff


@pytest.fixture
def manager(db):
    return staff_user(manager=True)


@pytest.fixture
def no_scope():
    """For arranging and asserting in tests: the explicit escape, never used by the code under test."""
    with scopes_disabled():
        yield
