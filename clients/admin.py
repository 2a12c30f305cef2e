from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from import_export.admin import ImportExportModelAdmin

from .models import AuditEvent, Client, ImporterNumber, Invitation, Membership, StaffAssignment, User
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
    inlines = [ImporterNumberInline, MembershipInline, StaffAssignmentInline]


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
