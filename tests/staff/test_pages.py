"""The staff pages across clients: the caseload (only one's clients; a manager's all, by staff), search,
query counts, assignments and adding a client."""

from django.urls import reverse
from django_scopes import scope

from clients.models import AuditEvent, Client, ImporterNumber, StaffAssignment


def test_staff_caseload_lists_only_assigned_clients(client, client_a, client_b, staff_a):
    client.force_login(staff_a)
    html = client.get(reverse("staff:caseload")).content.decode()
    assert "Alpha Imports LLC" in html and "Bravo Trading Inc." not in html


def test_manager_caseload_lists_every_client_and_filters_by_staff(
    client, client_a, client_b, staff_a, manager
):
    client.force_login(manager)
    html = client.get(reverse("staff:caseload")).content.decode()
    assert "Alpha Imports LLC" in html and "Bravo Trading Inc." in html
    html = client.get(reverse("staff:caseload"), {"staff": staff_a.pk}).content.decode()
    assert "Alpha Imports LLC" in html and "Bravo Trading Inc." not in html


def test_caseload_search_finds_a_client_by_importer_number(client, client_a, client_b, manager):
    client.force_login(manager)
    html = client.get(reverse("staff:caseload"), {"q": "98-7654"}).content.decode()
    assert "Bravo Trading Inc." in html and "Alpha Imports LLC" not in html


def test_caseload_query_count_does_not_grow_with_clients(client, manager, django_assert_max_num_queries):
    from tests.factories import ClientFactory, importer_number

    def load():
        # 15: the headline figures (refundable through CAPE now, deadline within 30 days) are read by the
        # one selector every page uses (entries.selectors.headline_figures), in one query of their own; the
        # per-client sums, the pipeline, the nearest deadlines and the chart weeks are summed by the
        # database in four (rows per client or per week, never per client and week); the protests per client
        # by status and the nearest protest deadline in two more (protests app, issue 16).
        with django_assert_max_num_queries(17) as ctx:
            assert client.get(reverse("staff:caseload")).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(manager)
    ClientFactory()
    one = load()
    for n in range(3):
        importer_number(ClientFactory(), f"55-00000{n}00")
    assert load() == one


def test_manager_assigns_and_unassigns_with_audit(client, client_a, manager, staff_b):
    client.force_login(manager)
    url = reverse("staff:assignment_change", kwargs={"client_id": client_a.pk})
    client.post(url, {"staff": staff_b.pk, "action": "assign"})
    assert StaffAssignment.objects.filter(client=client_a, staff=staff_b).exists()
    client.force_login(staff_b)
    assert client.get("/c/client-a/").status_code == 200

    client.force_login(manager)
    client.post(url, {"staff": staff_b.pk, "action": "unassign"})
    client.force_login(staff_b)
    assert client.get("/c/client-a/").status_code == 404
    with scope(client=client_a):
        actions = list(AuditEvent.objects.order_by("created_at", "id").values_list("action", flat=True))
    assert actions[-2:] == ["client.staff_assigned", "client.staff_unassigned"]


def test_plain_staff_cannot_reassign(client, client_a, staff_a, staff_b):
    client.force_login(staff_a)
    assert client.get(reverse("staff:assignments")).status_code == 404
    url = reverse("staff:assignment_change", kwargs={"client_id": client_a.pk})
    assert client.post(url, {"staff": staff_b.pk, "action": "assign"}).status_code == 404
    assert not StaffAssignment.objects.filter(staff=staff_b, client=client_a).exists()


def test_manager_adds_a_client_from_the_clients_page(client, manager, staff_a):
    client.force_login(manager)
    response = client.post(
        reverse("staff:clients"),
        {
            "legal_name": "Coastal Furniture Co.",
            "slug": "coastal",
            "importer_numbers": "11-222333400, 11-222333401",
            "staff": staff_a.pk,
        },
    )
    assert response.url == "/c/coastal/team/"
    coastal = Client.objects.get(slug="coastal")
    with scope(client=coastal):
        assert sorted(ImporterNumber.objects.values_list("number", flat=True)) == [
            "11-222333400",
            "11-222333401",
        ]
    assert StaffAssignment.objects.filter(client=coastal, staff=staff_a).exists()
