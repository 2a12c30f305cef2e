from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from clients.services import client_create


class Command(BaseCommand):
    help = "Create an importer client (tenant) with its importer-of-record numbers."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True, help="Short name used in links, e.g. acme-imports")
        parser.add_argument("--name", required=True, help="Legal name exactly as on the CBP Form 5106")
        parser.add_argument(
            "--ior",
            action="append",
            default=[],
            metavar="NUMBER",
            help="Importer-of-record number (repeatable)",
        )

    def handle(self, *args, slug, name, ior, **options):
        try:
            client = client_create(actor=None, slug=slug, legal_name=name, importer_numbers=ior)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        numbers = ", ".join(ior) or "no importer numbers"
        self.stdout.write(
            self.style.SUCCESS(f"Created client {client.slug}: {client.legal_name} ({numbers})")
        )
