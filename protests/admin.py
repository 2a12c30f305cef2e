from django.contrib import admin

from .models import Protest, ProtestAuthorization, ProtestEntry, ProtestTemplate


@admin.register(ProtestTemplate)
class ProtestTemplateAdmin(admin.ModelAdmin):
    """The objection and justification per category: staff managers edit them; everyone else reads them."""

    list_display = ["category", "decision_protested", "updated_at"]

    def has_add_permission(self, request):
        return request.user.is_staff_manager

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def has_delete_permission(self, request, obj=None):
        return request.user.is_staff_manager


class _ReadOnly(admin.ModelAdmin):
    """Protests are written by the portal's services only; the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Protest)
class ProtestAdmin(_ReadOnly):
    list_display = [
        "__str__",
        "client",
        "status",
        "category",
        "port",
        "importer_number",
        "entry_count",
        "filed_on",
    ]
    list_filter = ["status", "category"]
    search_fields = ["protest_number", "client__legal_name", "importer_number"]
    list_select_related = ["client"]


@admin.register(ProtestEntry)
class ProtestEntryAdmin(_ReadOnly):
    list_display = ["entry_number", "client", "protest", "status", "decided_on", "court_deadline"]
    list_filter = ["status"]
    search_fields = ["entry_number", "protest__protest_number"]
    list_select_related = ["client", "protest"]


@admin.register(ProtestAuthorization)
class ProtestAuthorizationAdmin(_ReadOnly):
    list_display = ["client", "granted_by_email", "granted_at", "revoked_at"]
    list_select_related = ["client"]
