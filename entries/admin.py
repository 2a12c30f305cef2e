from django.contrib import admin
from import_export.admin import ExportMixin

from brokerage.queueing import enqueue_on_commit
from clients.admin import ImportExportRights, TenantReadOnly

from .models import Chapter99Rule, Entry, EntryLine, EntryReport
from .resources import EntryLineResource, EntryResource


@admin.register(Entry)
class EntryAdmin(ImportExportRights, TenantReadOnly, ExportMixin, admin.ModelAdmin):
    resource_classes = [EntryResource]
    list_display = ["entry_number", "client", "entry_type", "refund_path", "ieepa_duty", "next_deadline"]
    list_filter = ["refund_path", "entry_type"]
    search_fields = ["entry_number", "importer_number", "client__legal_name"]
    list_select_related = ["client"]
    readonly_fields = [f.name for f in Entry._meta.fields]


@admin.register(EntryLine)
class EntryLineAdmin(ImportExportRights, TenantReadOnly, ExportMixin, admin.ModelAdmin):
    resource_classes = [EntryLineResource]
    list_display = ["entry", "line_number", "ordinal", "hts", "duty", "program"]
    list_select_related = ["entry"]
    search_fields = ["entry__entry_number", "hts"]
    readonly_fields = [f.name for f in EntryLine._meta.fields]


@admin.register(EntryReport)
class EntryReportAdmin(TenantReadOnly, admin.ModelAdmin):
    list_display = ["original_name", "client", "status", "rows_read", "rows_rejected", "created_at"]
    list_filter = ["status"]
    # Private files have no URL to link to (the admin would fail): the report's page serves the file.
    exclude = ["file"]
    readonly_fields = [f.name for f in EntryReport._meta.fields if f.name != "file"]


@admin.register(Chapter99Rule)
class Chapter99RuleAdmin(admin.ModelAdmin):
    """The registry: staff managers edit it; every change re-classifies the entries (in the background)."""

    list_display = ["start", "end", "program", "carries_duty", "effective_from", "effective_to", "source"]
    list_filter = ["program", "carries_duty"]

    def has_add_permission(self, request):
        return request.user.is_staff_manager

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def has_delete_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        enqueue_on_commit("entries.tasks.reclassify_after_registry_change")

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        enqueue_on_commit("entries.tasks.reclassify_after_registry_change")
