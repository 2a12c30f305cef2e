"""The Django admin, for broker staff.

Rights, in one place (docs/SECURITY.md, section 1, "Found by the outside probe (issue 14)"):
- every django-import-export action checks the rights of the page it sits on (`ImportExportRights`):
  exporting needs the right to view the list, and only what the list shows is exported (a staff member
  who is not a manager: their caseload, never people); importing is for staff managers only, and every
  row an import changes is written to the client's audit trail (`clients/resources.py`);
- tenant data (every `TenantModel`) is read-only here (`TenantReadOnly`): it changes through the
  portal's pages, whose services write the audit trail, so nothing can be changed or deleted unaudited;
- a client record itself may be added and changed by managers (audited, `ClientAdmin.save_model`),
  never deleted here (a delete would erase its audit trail with it).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from import_export.admin import ImportExportModelAdmin

from .models import (
    AuditEvent,
    ChecklistItem,
    Client,
    CodeWindow,
    FilingAuthorization,
    ImporterNumber,
    Invitation,
    Membership,
    OnboardingDigest,
    OnboardingProfile,
    StaffAssignment,
    User,
)
from .resources import ClientResource, UserResource


class ImportExportRights:
    """django-import-export's actions with the rights of the page they belong to (first in the bases)."""

    def has_export_permission(self, request):
        # The export is built from the change list's own queryset (caseload-scoped), so seeing the list is
        # the right to export it.
        return self.has_view_permission(request)

    def has_import_permission(self, request):
        return (
            request.user.is_active and request.user.is_staff_manager and self.has_change_permission(request)
        )


class TenantReadOnly:
    """Tenant data is read, not changed, in the admin: its changes go through audited services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ImporterNumberInline(TenantReadOnly, admin.TabularInline):
    model = ImporterNumber
    extra = 0


class MembershipInline(TenantReadOnly, admin.TabularInline):
    model = Membership
    extra = 0


class StaffAssignmentInline(TenantReadOnly, admin.TabularInline):
    """Assignments change on the staff's Assignments page, which audits them."""

    model = StaffAssignment
    extra = 0
    fk_name = "client"


@admin.register(Client)
class ClientAdmin(ImportExportRights, ImportExportModelAdmin):
    resource_classes = [ClientResource]
    list_display = ["legal_name", "slug", "is_active", "created_at"]
    search_fields = ["legal_name", "slug"]
    prepopulated_fields = {"slug": ["legal_name"]}
    exclude = ["letterhead_logo"]  # a private file has no URL to link to; clients upload it on their profile
    inlines = [ImporterNumberInline, MembershipInline, StaffAssignmentInline]

    def get_queryset(self, request):
        # Staff who are not managers see their caseload only, as everywhere else.
        clients = super().get_queryset(request)
        if request.user.is_staff_manager:
            return clients
        return clients.filter(staff_assignments__staff=request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django_scopes import scope

        from . import audit

        before = {}
        if change:
            before = Client.objects.filter(pk=obj.pk).values(*form.changed_data).first() or {}
        super().save_model(request, obj, form, change)
        with scope(client=obj):
            if change:
                changes = {
                    name: {"from": str(before.get(name, "")), "to": str(getattr(obj, name))}
                    for name in form.changed_data
                }
                if changes:
                    audit.record(
                        client=obj,
                        actor=request.user,
                        action="client.profile_updated",
                        subject=obj,
                        data={**changes, "via": "admin"},
                    )
            else:
                audit.record(
                    client=obj,
                    actor=request.user,
                    action="client.created",
                    subject=obj,
                    data={"legal_name": obj.legal_name, "via": "admin"},
                )


@admin.register(User)
class UserAdmin(ImportExportRights, ImportExportModelAdmin, BaseUserAdmin):
    resource_classes = [UserResource]
    ordering = ["email"]
    list_display = ["email", "full_name", "staff_role", "is_active", "last_login"]
    list_filter = ["staff_role", "is_active"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Person", {"fields": ["full_name"]}),
        ("Access", {"fields": ["staff_role", "is_active", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "full_name", "staff_role", "password1", "password2"]},
        )
    ]
    filter_horizontal = ["groups", "user_permissions"]


@admin.register(AuditEvent)
class AuditEventAdmin(TenantReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "client", "actor", "action", "subject_repr"]
    list_filter = ["action"]
    search_fields = ["action", "subject_repr", "client__legal_name"]


@admin.register(Invitation)
class InvitationAdmin(TenantReadOnly, admin.ModelAdmin):
    list_display = ["email", "client", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    readonly_fields = ["token_hash"]
    search_fields = ["email"]


# --- Onboarding (read-mostly: changes go through the portal's pages so they are audited) ---------------


class _ReadOnlyAdmin(TenantReadOnly, admin.ModelAdmin):
    pass


@admin.register(OnboardingProfile)
class OnboardingProfileAdmin(_ReadOnlyAdmin):
    list_display = ["client", "ace_path", "sub_account", "ach_status", "updated_at"]
    list_filter = ["ace_path", "sub_account", "ach_status"]
    search_fields = ["client__legal_name", "company_name_5106", "poc_email"]


@admin.register(ChecklistItem)
class ChecklistItemAdmin(_ReadOnlyAdmin):
    list_display = ["client", "key", "status", "owner", "due_date", "verified_at", "status_changed_at"]
    list_filter = ["key", "status", "owner"]
    search_fields = ["client__legal_name"]


@admin.register(CodeWindow)
class CodeWindowAdmin(_ReadOnlyAdmin):
    list_display = ["client", "starts_at", "status", "poc_email", "confirmed_by", "reminder_sent_at"]
    list_filter = ["status"]


@admin.register(FilingAuthorization)
class FilingAuthorizationAdmin(_ReadOnlyAdmin):
    list_display = ["client", "granted_by_email", "granted_at", "granted_from_ip", "revoked_at"]
    search_fields = ["client__legal_name", "granted_by_email"]


@admin.register(OnboardingDigest)
class OnboardingDigestAdmin(_ReadOnlyAdmin):
    list_display = ["day", "recipient", "sent_at"]
    date_hierarchy = "day"
