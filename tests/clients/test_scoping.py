import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django_scopes import ScopeError, scope

from clients.models import AuditEvent, AuditExport, ImporterNumber, Invitation, Membership, TenantModel


def tenant_models():
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def test_every_tenant_model_has_a_direct_client_key():
    assert {ImporterNumber, Membership, Invitation, AuditEvent, AuditExport} <= set(tenant_models())
    for model in tenant_models():
        assert model._meta.get_field("client").related_model.__name__ == "Client"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m.__name__)
def test_query_outside_scope_raises(client_a, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())
    with pytest.raises(ScopeError):
        model.objects.filter(client=client_a).count()


def test_scope_shows_only_its_own_clients_rows(client_a, client_b):
    with scope(client=client_a):
        assert list(ImporterNumber.objects.values_list("number", flat=True)) == ["12-345678900"]
    with scope(client=client_b):
        assert list(ImporterNumber.objects.values_list("number", flat=True)) == ["98-765432100"]


def test_audit_events_are_append_only(client_a, admin_a):
    from clients.audit import record

    with scope(client=client_a):
        event = record(client=client_a, actor=admin_a, action="test.happened")
        event.action = "test.rewritten"
        with pytest.raises(RuntimeError):
            event.save()
        with pytest.raises(RuntimeError):
            event.delete()
        assert AuditEvent.objects.get(pk=event.pk).action == "test.happened"


def test_private_files_are_not_under_static_or_a_public_url(settings, client_a):
    with scope(client=client_a):
        export = AuditExport.objects.create(client=client_a)
        export.file.save("x.csv", ContentFile(b"a"))
        with pytest.raises(ValueError):
            export.file.url  # noqa: B018 — no public URL exists; downloads go through views
