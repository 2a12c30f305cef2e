"""The admin's import and export pages (django-import-export) hold the same limits as its lists.

Issue 14, point 1: a staff member who is not a manager, assigned to one client, exported every user,
renamed a client and deactivated another through /admin/clients/client/import/, and deactivated the
only manager through /admin/clients/user/import/; none of it reached an audit trail.
"""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from clients.models import AuditEvent, Client


def _admin_import(http, model: str, text: str):
    """Upload a CSV on /admin/clients/<model>/import/ and, if the preview offers it, confirm it."""
    url = f"/admin/clients/{model}/import/"
    page = http.get(url)
    if page.status_code != 200:
        return page
    choices = dict((label.lower(), value) for value, label in page.context["form"].fields["format"].choices)
    upload = SimpleUploadedFile(f"{model}s.csv", text.encode(), content_type="text/csv")
    preview = http.post(url, {"format": choices["csv"], "resource": "0", "import_file": upload})
    if preview.status_code != 200 or not preview.context or not preview.context.get("confirm_form"):
        return preview
    confirm = preview.context["confirm_form"]
    data = {name: confirm[name].value() for name in confirm.fields}
    return http.post(f"/admin/clients/{model}/process_import/", data)


def _export(http, url: str, prefix: str):
    data = {"format": "0", "resource": "0"}
    response = http.post(url, data)
    if response.get("Content-Disposition") is None and response.status_code == 200:
        form = response.context["form"]
        data.update({name: "on" for name in form.fields if name.startswith(prefix)})
        response = http.post(url, data)
    return response


@pytest.mark.parametrize(
    "url",
    [
        "/admin/clients/user/export/",
        "/admin/clients/user/import/",
        "/admin/clients/client/import/",
        "/admin/clients/user/process_import/",
        "/admin/clients/client/process_import/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_who_is_not_a_manager_cannot_use_people_or_client_imports(client, world, staff_a, url, method):
    if method == "get" and url.endswith("/process_import/"):
        pytest.skip("process_import takes POST only")
    client.force_login(staff_a)
    response = getattr(client, method)(url, {"format": "0", "resource": "0"} if method == "post" else None)
    assert response.status_code == 403


def test_import_by_staff_changes_nothing(client, world, staff_a, client_b):
    client.force_login(staff_a)
    text = "slug,legal_name,is_active\nclient-a,Renamed By Staff,1\nclient-b,Bravo Trading Inc.,0\n"

    response = _admin_import(client, "client", text)

    assert response.status_code == 403
    world.client.refresh_from_db()
    client_b.refresh_from_db()
    assert world.client.legal_name == "Alpha Imports LLC" and client_b.is_active


def test_user_import_by_staff_cannot_deactivate_a_manager(client, world, staff_a, manager):
    client.force_login(staff_a)
    response = _admin_import(client, "user", f"email,full_name,is_active\n{manager.email},Boss,0\n")
    assert response.status_code == 403
    manager.refresh_from_db()
    assert manager.is_active


def test_staff_export_of_clients_holds_only_their_caseload(client, world, staff_a, client_b):
    client.force_login(staff_a)

    response = _export(client, "/admin/clients/client/export/", "clientresource_")

    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["slug"] for row in rows] == ["client-a"]
    assert "98-765432100" not in response.content.decode()  # client B's importer number


def test_manager_client_import_writes_each_change_to_the_clients_audit_trail(
    client, world, manager, client_b, admin_a
):
    client.force_login(manager)
    text = "slug,legal_name,is_active\nclient-a,Alpha Imports Holdings LLC,1\nclient-b,Bravo Trading Inc.,0\n"

    response = _admin_import(client, "client", text)

    assert response.status_code == 302
    world.client.refresh_from_db()
    client_b.refresh_from_db()
    assert world.client.legal_name == "Alpha Imports Holdings LLC" and not client_b.is_active
    with scope(client=world.client):
        renamed = AuditEvent.objects.get(client=world.client, action="client.profile_updated")
    assert renamed.actor == manager
    assert renamed.data["legal_name"] == {"from": "Alpha Imports LLC", "to": "Alpha Imports Holdings LLC"}
    with scope(client=client_b):
        deactivated = AuditEvent.objects.get(client=client_b, action="client.profile_updated")
    assert deactivated.data["is_active"] == {"from": "True", "to": "False"}
    # What a client admin reads on the audit trail page.
    client.force_login(admin_a)
    assert "Alpha Imports Holdings LLC" in client.get("/c/client-a/audit/").content.decode()


def test_manager_user_import_is_audited_on_the_members_clients(client, world, manager, member_a):
    client.force_login(manager)

    response = _admin_import(
        client, "user", f"email,full_name,is_active\n{member_a.email},Renamed Person,1\n"
    )

    assert response.status_code == 302
    member_a.refresh_from_db()
    assert member_a.full_name == "Renamed Person"
    with scope(client=world.client):
        event = AuditEvent.objects.get(client=world.client, action="client.member_changed_by_import")
    assert event.actor == manager and event.data["full_name"]["to"] == "Renamed Person"


def test_user_import_cannot_raise_a_staff_role_or_deactivate_the_last_manager(
    client, world, manager, member_a
):
    client.force_login(manager)
    text = (
        "email,full_name,staff_role,is_active\n"
        f"{member_a.email},A Member,staff_manager,1\n"
        f"{manager.email},The Manager,staff_manager,0\n"
    )

    _admin_import(client, "user", text)

    member_a.refresh_from_db()
    manager.refresh_from_db()
    assert member_a.staff_role == "" and manager.is_active


def test_tenant_data_is_read_only_in_the_admin_even_for_managers(client, world, manager):
    client.force_login(manager)
    with scope(client=world.client):
        entry_pk = world.entry.pk
    response = client.post(f"/admin/entries/entry/{entry_pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = client.post(f"/admin/clients/client/{world.client.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Client.objects.filter(pk=world.client.pk).exists()
    response = client.post(
        "/admin/clients/invitation/add/", {"email": "x@example.com", "client": world.client.pk}
    )
    assert response.status_code == 403


def test_manager_change_of_a_client_in_the_admin_is_audited(client, world, manager):
    client.force_login(manager)
    url = f"/admin/clients/client/{world.client.pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{inline.formset.prefix}-{k}": v for k, v in management.initial.items()})
    data["legal_name"] = "Alpha Renamed In Admin"
    data["is_active"] = "on"
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    with scope(client=world.client):
        event = AuditEvent.objects.get(client=world.client, action="client.profile_updated")
    assert event.actor == manager and event.data["legal_name"]["to"] == "Alpha Renamed In Admin"


def test_user_export_is_refused_like_the_user_list(client, world, staff_a, manager):
    client.force_login(staff_a)
    assert client.get("/admin/clients/user/").status_code == 403
    response = _export(client, "/admin/clients/user/export/", "userresource_")
    assert response.status_code == 403
    assert manager.email not in response.content.decode()


def test_every_admin_of_tenant_data_is_read_only_for_a_manager(rf, manager):
    """Enumerated from the admin site: a new tenant model in the admin must not be editable there."""
    from django.contrib import admin

    from clients.models import TenantModel

    request = rf.get("/admin/")
    request.user = manager
    checked = []
    for model, model_admin in admin.site._registry.items():
        admins = [model_admin] if issubclass(model, TenantModel) else []
        admins += [
            inline(model, admin.site)
            for inline in model_admin.inlines
            if issubclass(inline.model, TenantModel)
        ]
        for each in admins:
            label = f"{type(each).__name__} ({model._meta.label})"
            is_inline = isinstance(each, admin.options.InlineModelAdmin)
            may_add = (
                each.has_add_permission(request, None) if is_inline else each.has_add_permission(request)
            )
            assert not may_add, label
            assert not each.has_change_permission(request, None), label
            assert not each.has_delete_permission(request, None), label
            checked.append(label)
    assert len(checked) >= 15, checked
