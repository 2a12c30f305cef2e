"""django-import-export resources: staff export entries and lines from the admin (CSV/XLSX)."""

from import_export import fields, resources

from brokerage.spreadsheets import safe_cell

from .models import Entry, EntryLine


class _SafeExport(resources.ModelResource):
    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))


class EntryResource(_SafeExport):
    client = fields.Field(attribute="client__slug", column_name="client")

    class Meta:
        model = Entry
        fields = (
            "client",
            "entry_number",
            "entry_type",
            "importer_number",
            "port",
            "entry_date",
            "entry_summary_date",
            "liquidation_status",
            "liquidation_date",
            "drawback",
            "protest",
            "reconciliation",
            "line_count",
            "total_duty",
            "ieepa_duty",
            "section_122_duty",
            "refund_path",
            "exclusion_reason",
            "projected_liquidation",
            "cape_window_closes",
            "protest_deadline",
            "next_deadline",
            "classified_as_of",
        )
        export_order = fields


class EntryLineResource(_SafeExport):
    client = fields.Field(attribute="client__slug", column_name="client")
    entry_number = fields.Field(attribute="entry__entry_number", column_name="entry_number")

    class Meta:
        model = EntryLine
        fields = (
            "client",
            "entry_number",
            "line_number",
            "ordinal",
            "hts",
            "goods_value",
            "duty",
            "country_of_origin",
            "program",
        )
        export_order = fields
