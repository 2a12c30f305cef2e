from argparse import ArgumentTypeError
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from clients.models import Client
from domain import cape
from refunds.planning import declaration_plan


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(f"must be a date as YYYY-MM-DD, not {text!r}") from None


class Command(BaseCommand):
    help = (
        "Write the CAPE declaration files the preview would produce for a client on a day (CBP's template: one "
        "'Entry Number' column, at most 9,999 entries per file) and print one line per file with its entry "
        "count. --as-of is a calendar day in the portal's time zone (America/New_York): every entry is "
        "classified again as of that day, so only entries on a CAPE path on that day are written. The "
        "broker's declarations (entries whose filer code is one of BROKERAGE_FILER_CODES) go into the output "
        "folder; the client's entries filed by other brokers go into a subfolder per importer number "
        "(importer_<number>), for the importer to file from its own ACE account. Every file is checked as "
        "CBP would before it is written. It only writes files: it does not reserve the entries in the ledger, "
        "so nothing stops the same entries from going into a declaration built in the portal; file those, not "
        "these, unless you know why. Readiness to file is ignored (it only guards recording a filing). "
        "Existing files of the same name are overwritten."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument(
            "--as-of",
            required=True,
            metavar="YYYY-MM-DD",
            type=_day,
            help="The filing day, in the portal's time zone (America/New_York).",
        )
        parser.add_argument("--output-dir", required=True, metavar="DIR", type=Path)
        parser.add_argument(
            "--importer", default="", metavar="NUMBER", help="Only this importer number's entries"
        )

    def handle(self, *args, client, as_of, output_dir, importer, **options):
        target = Client.objects.filter(slug=client).first()
        if target is None:
            raise CommandError(f"No client with slug '{client}'.")
        with scope(client=target):
            plan = declaration_plan(client=target, as_of=as_of, importer_number=importer)
        # (folder, planned file, filer codes the file may hold: the brokerage's, or any for the importer's own)
        writes = [(output_dir, planned, set(plan.filer_codes)) for planned in plan.files]
        for group in plan.other_brokers:
            folder = output_dir / cape.importer_folder(group.importer_number)
            writes += [(folder, planned, None) for planned in group.files]
        for _, planned, codes in writes:
            problems = cape.validate_file(planned.file.content, filer_codes=codes)
            if problems:
                raise CommandError(
                    f"{planned.filename} would fail CBP's validation: {' '.join(problems[:5])}"
                )
        output_dir.mkdir(parents=True, exist_ok=True)
        for warning in plan.warnings:
            self.stderr.write(f"warning: {warning}")
        if not writes:
            self.stderr.write("No entry is eligible: no file written.")
            return
        for folder, planned, _ in writes:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / planned.filename
            path.write_bytes(planned.file.content)
            self.stdout.write(f"{path}: {planned.count} entries")
