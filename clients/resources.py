"""django-import-export resources for staff in the Django admin."""

from import_export import fields, resources

from .models import Client, User


class ClientResource(resources.ModelResource):
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


class UserResource(resources.ModelResource):
    class Meta:
        model = User
        # Never export password hashes; staff roles are exported, not imported (set them in the admin).
        fields = ("id", "email", "full_name", "staff_role", "is_active", "date_joined", "last_login")
        import_id_fields = ("email",)
        skip_unchanged = True
        exclude = ("password",)

    def before_import_row(self, row, **kwargs):
        row.pop("staff_role", None)
