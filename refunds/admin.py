from django.contrib import admin

from clients.admin import TenantReadOnly

from .models import CbpReport, Declaration, DeclarationEntry, InterestRate, RejectionReason


@admin.register(InterestRate)
class InterestRateAdmin(admin.ModelAdmin):
    """The IRS overpayment rates by quarter (spec §7a): staff managers add each new quarter when the IRS
    announces it; everyone else reads. The admin's history keeps who changed what and when."""

    list_display = [
        "quarter_start",
        "noncorporate_rate",
        "corporate_rate",
        "source",
        "updated_by",
        "updated_at",
    ]
    readonly_fields = ["updated_by", "updated_at"]

    def has_add_permission(self, request):
        return request.user.is_staff_manager

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def has_delete_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(RejectionReason)
class RejectionReasonAdmin(admin.ModelAdmin):
    """The rejection reason -> next action table: staff managers edit it; everyone else reads it."""

    list_display = ["label", "code", "allows_refile", "position", "next_action"]
    list_editable = ["position"]
    search_fields = ["label", "match_phrases", "next_action"]

    def has_add_permission(self, request):
        return request.user.is_staff_manager

    def has_change_permission(self, request, obj=None):
        return request.user.is_staff_manager

    def has_delete_permission(self, request, obj=None):
        return request.user.is_staff_manager


class _ReadOnly(TenantReadOnly, admin.ModelAdmin):
    """The ledger is written by the portal's services only; the admin shows it."""


@admin.register(Declaration)
class DeclarationAdmin(_ReadOnly):
    list_display = ["filename", "client", "status", "claim_number", "entry_count", "filed_on"]
    list_filter = ["status"]
    search_fields = ["filename", "claim_number", "client__legal_name"]
    list_select_related = ["client"]
    exclude = ["content"]


@admin.register(DeclarationEntry)
class DeclarationEntryAdmin(_ReadOnly):
    list_display = ["entry_number", "client", "declaration", "status", "reason", "refund_status"]
    list_filter = ["status", "refund_status"]
    search_fields = ["entry_number", "declaration__claim_number"]
    list_select_related = ["client", "declaration", "reason"]


@admin.register(CbpReport)
class CbpReportAdmin(_ReadOnly):
    list_display = ["original_name", "client", "kind", "status", "rows_read", "rows_unmatched", "created_at"]
    list_filter = ["kind", "status"]
    exclude = ["file"]  # private: no URL to link to; the report's page serves it
    list_select_related = ["client"]
