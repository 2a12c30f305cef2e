"""django-import-export resources for staff in the Django admin.

Exports are built from the admin list's queryset (a staff member who is not a manager: their caseload).
Imports are the managers' (clients/admin.py) and every row an import changes is written to the audit
trail of the client it concerns, in the import's own transaction.
"""

import logging

from django_scopes import scope, scopes_disabled
from import_export import fields, resources

from brokerage.spreadsheets import safe_cell

from . import audit
from .models import Client, Membership, User

security_log = logging.getLogger("portal.security")


class _SafeExport(resources.ModelResource):
    """Names and addresses are typed by people: a spreadsheet must not run them as formulas."""

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))


class _AuditedImport(_SafeExport):
    """Each row an import creates or changes leaves an audit event (see `audit_import_row`)."""

    def save_instance(self, instance, is_create, row, **kwargs):
        names = [f.attribute for f in self.get_import_fields() if f.attribute and "__" not in f.attribute]
        model = type(instance)
        before = {}
        if not is_create:
            with scopes_disabled():
                before = model.objects.filter(pk=instance.pk).values(*names).first() or {}
        super().save_instance(instance, is_create, row, **kwargs)
        if kwargs.get("dry_run"):
            return  # the preview: nothing is kept, so nothing is recorded
        changes = {
            name: {"from": _plain(before.get(name)), "to": _plain(getattr(instance, name, None))}
            for name in names
            if is_create or before.get(name) != getattr(instance, name, None)
        }
        if changes:
            self.audit_import_row(
                instance=instance,
                created=is_create,
                changes=changes,
                actor=kwargs.get("user"),
                file_name=kwargs.get("file_name") or "",
            )

    def audit_import_row(self, *, instance, created: bool, changes: dict, actor, file_name: str) -> None:
        raise NotImplementedError


def _plain(value) -> str:
    return "" if value is None else str(value)


class ClientResource(_AuditedImport):
    importer_numbers = fields.Field(column_name="importer_numbers", readonly=True)

    class Meta:
        model = Client
        fields = (
            "id",
            "slug",
            "legal_name",
            "address_line1",
            "address_line2",
            "city",
            "state",
            "postal_code",
            "country",
            "is_active",
            "importer_numbers",
        )
        import_id_fields = ("slug",)
        skip_unchanged = True

    def get_import_fields(self):
        # Rows are matched by slug; a spreadsheet never chooses a primary key.
        return [f for f in super().get_import_fields() if f.attribute != "id"]

    def dehydrate_importer_numbers(self, client: Client) -> str:
        from .models import ImporterNumber

        with scopes_disabled():  # the rows exported are those the admin list shows this staff member
            return " ".join(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))

    def audit_import_row(self, *, instance, created, changes, actor, file_name) -> None:
        with scope(client=instance):
            audit.record(
                client=instance,
                actor=actor,
                action="client.created" if created else "client.profile_updated",
                subject=instance,
                data={**changes, "via": "admin import", "file": file_name},
            )


class UserResource(_AuditedImport):
    class Meta:
        model = User
        # Never export password hashes; staff roles are exported, not imported (set them in the admin).
        fields = ("id", "email", "full_name", "staff_role", "is_active", "date_joined", "last_login")
        import_id_fields = ("email",)
        skip_unchanged = True
        exclude = ("password",)

    def get_import_fields(self):
        # Exported, never imported: roles and dates are set by the portal, not by a spreadsheet.
        return [f for f in super().get_import_fields() if f.attribute in ("email", "full_name", "is_active")]

    def before_save_instance(self, instance, row, **kwargs):
        from django.core.exceptions import ValidationError

        if instance.pk and not instance.is_active and instance.is_staff_manager:
            others = User.objects.filter(staff_role=User.StaffRole.MANAGER, is_active=True).exclude(
                pk=instance.pk
            )
            if not others.exists():
                raise ValidationError("The last active staff manager cannot be deactivated by an import.")

    def audit_import_row(self, *, instance, created, changes, actor, file_name) -> None:
        # A person has no audit trail of their own: the change goes on the trail of every client they
        # belong to, and to the security log (staff belong to no client).
        with scopes_disabled():
            client_ids = list(Membership.objects.filter(user=instance).values_list("client_id", flat=True))
        for client in Client.objects.filter(pk__in=client_ids):
            with scope(client=client):
                audit.record(
                    client=client,
                    actor=actor,
                    action="client.member_changed_by_import",
                    subject=instance,
                    data={**changes, "via": "admin import", "file": file_name},
                )
        security_log.info(
            "user %s %s by admin import of %s by %s: %s",
            instance.email,
            "created" if created else "changed",
            file_name,
            getattr(actor, "email", None),
            sorted(changes),
        )
