"""django-import-export resources for staff in the Django admin."""

from import_export import fields, resources

from brokerage.spreadsheets import safe_cell

from .models import Client, User


class _SafeExport(resources.ModelResource):
    """Names and addresses are typed by people: a spreadsheet must not run them as formulas."""

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))


class ClientResource(_SafeExport):
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

    def dehydrate_importer_numbers(self, client: Client) -> str:
        from django_scopes import scopes_disabled

        from .models import ImporterNumber

        with scopes_disabled():  # admin export runs outside any client's scope by design
            return " ".join(ImporterNumber.objects.filter(client=client).values_list("number", flat=True))


class UserResource(_SafeExport):
    class Meta:
        model = User
        # Never export password hashes; staff roles are exported, not imported (set them in the admin).
        fields = ("id", "email", "full_name", "staff_role", "is_active", "date_joined", "last_login")
        import_id_fields = ("email",)
        skip_unchanged = True
        exclude = ("password",)

    def before_import_row(self, row, **kwargs):
        row.pop("staff_role", None)
