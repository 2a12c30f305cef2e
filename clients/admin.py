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


class ImporterNumberInline(admin.TabularInline):
    model = ImporterNumber
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class StaffAssignmentInline(admin.TabularInline):
    model = StaffAssignment
    extra = 0
    fk_name = "client"
    autocomplete_fields = ["staff"]
    readonly_fields = ["assigned_at", "assigned_by"]


@admin.register(Client)
class ClientAdmin(ImportExportModelAdmin):
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


@admin.register(User)
class UserAdmin(ImportExportModelAdmin, BaseUserAdmin):
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
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "client", "actor", "action", "subject_repr"]
    list_filter = ["action"]
    search_fields = ["action", "subject_repr", "client__legal_name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "client", "role", "created_at", "expires_at", "accepted_at", "revoked_at"]
    readonly_fields = ["token_hash"]
    search_fields = ["email"]


# --- Onboarding (read-mostly: changes go through the portal's pages so they are audited) ---------------


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
