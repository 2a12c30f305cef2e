from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from clients.models import Client
from protests import documents, selectors, services


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"must be a date as YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Write the protest drafts a build would make for a client on a day: for each, the Form 19-style PDF and "
        "the CSV of its entries for ACE's Protest module (entry number, entry date, liquidation date), and print "
        "one line per draft: port, importer number, entries, duty (tab-separated). It only writes files: no "
        "draft is saved and no entry is reserved, so entries already in a draft in the portal are left out as "
        "the portal's build would. Existing files of the same name are overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", type=_day)
        parser.add_argument("--output-dir", required=True, metavar="DIR", type=Path)

    def handle(self, *args, client, as_of, output_dir, **options):
        target = Client.objects.filter(slug=client).first()
        if target is None:
            raise CommandError(f"No client with slug '{client}'.")
        output_dir.mkdir(parents=True, exist_ok=True)
        with scope(client=target):
            plan, in_drafts = selectors.protest_plan(client=target, as_of=as_of)
            for reason, count in sorted(plan.excluded.items()):
                self.stderr.write(f"left out: {count} entries with {services.drafting.EXCLUSIONS[reason]}")
            if in_drafts:
                self.stderr.write(f"left out: {in_drafts} entries already in a draft in the portal")
            if not plan.drafts:
                self.stderr.write("No entry needs a protest: no file written.")
                return
            for protest, lines in services.draft_objects(
                actor=None, client=target, as_of=as_of, plans=plan.drafts
            ):
                pdf = documents.protest_pdf_bytes(protest=protest, lines=lines)
                (output_dir / documents.pdf_filename(protest)).write_bytes(pdf)
                csv = documents.entries_csv(
                    (line.entry_number, line.entry_date, line.liquidation_date) for line in lines
                )
                (output_dir / documents.csv_filename(protest)).write_bytes(csv)
                self.stdout.write(
                    f"{protest.port}\t{protest.importer_number}\t{len(lines)}\t{protest.duty_total:.2f}"
                )
