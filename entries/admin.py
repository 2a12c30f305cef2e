from django.contrib import admin
from import_export.admin import ExportMixin

from .models import Entry, EntryLine, EntryReport
from .resources import EntryLineResource, EntryResource


@admin.register(Entry)
class EntryAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [EntryResource]
    list_display = ["entry_number", "client", "entry_type", "refund_path", "ieepa_duty", "next_deadline"]
    list_filter = ["refund_path", "entry_type"]
    search_fields = ["entry_number", "importer_number", "client__legal_name"]
    list_select_related = ["client"]
    readonly_fields = [f.name for f in Entry._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(EntryLine)
class EntryLineAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [EntryLineResource]
    list_display = ["entry", "line_number", "ordinal", "hts", "duty", "program"]
    list_select_related = ["entry"]
    search_fields = ["entry__entry_number", "hts"]
    readonly_fields = [f.name for f in EntryLine._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(EntryReport)
class EntryReportAdmin(admin.ModelAdmin):
    list_display = ["original_name", "client", "status", "rows_read", "rows_rejected", "created_at"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in EntryReport._meta.fields]

    def has_add_permission(self, request):
        return False
