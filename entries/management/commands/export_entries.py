import csv
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from clients.models import Client
from entries.exports import EXPORT_COLUMNS, entry_export_rows


class Command(BaseCommand):
    help = (
        "Write one CSV row per entry of a client, classified as of a date (nothing stored changes). The first "
        f"eight columns are {', '.join(EXPORT_COLUMNS[:8])}."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--output", required=True, metavar="FILE")

    def handle(self, *args, client, as_of, output, **options):
        target = Client.objects.filter(slug=client).first()
        if target is None:
            raise CommandError(f"No client with slug '{client}'.")
        try:
            day = date.fromisoformat(as_of)
        except ValueError as error:
            raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {as_of!r}.") from error
        count = 0
        with scope(client=target), open(output, "w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            for row in entry_export_rows(client=target, as_of=day):
                writer.writerow(row)
                count += 1
        self.stdout.write(f"{count} entries written to {output} (as of {day.isoformat()})")
