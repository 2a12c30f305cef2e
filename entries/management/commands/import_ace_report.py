from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from clients.models import Client
from entries.ingestion.services import kept_summary, report_import, report_upload
from entries.models import EntryReport


class Command(BaseCommand):
    help = "Import ACE ES-003 reports (CSV or XLSX) for a client, synchronously, and print the summary."

    def add_arguments(self, parser):
        parser.add_argument("--client", required=True, metavar="SLUG")
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument(
            "--reprocess", action="store_true", help="Import a file again even if it was imported before"
        )

    def handle(self, *args, client, files, reprocess, **options):
        target = Client.objects.filter(slug=client).first()
        if target is None:
            raise CommandError(f"No client with slug '{client}'.")
        failed = 0
        with scope(client=target):
            for name in files:
                path = Path(name)
                if not path.is_file():
                    self.stderr.write(f"{name}: no such file")
                    failed += 1
                    continue
                with path.open("rb") as handle:
                    upload = File(handle, name=path.name)
                    upload.size = path.stat().st_size
                    try:
                        report, queued = report_upload(
                            actor=None, client=target, uploaded=upload, reprocess=reprocess, enqueue=False
                        )
                    except ValidationError as error:
                        self.stderr.write(f"{name}: rejected: {' '.join(error.messages)}")
                        failed += 1
                        continue
                if not queued:
                    self.stdout.write(
                        f"{name}: already imported on {report.created_at:%Y-%m-%d %H:%M} (use --reprocess)"
                    )
                    continue
                report_import(report=report)
                if report.status == EntryReport.Status.FAILED:
                    self.stderr.write(f"{name}: {report.message}")
                    failed += 1
                    continue
                self.stdout.write(
                    f"{name}: created {report.entries_created} updated {report.entries_updated} "
                    f"unchanged {report.entries_unchanged} rejected {report.rows_rejected} rows"
                )
                if report.entries_kept:
                    self.stdout.write(f"  kept: {kept_summary(report.entries_kept)}")
                for warning in report.warnings:
                    self.stdout.write(f"  warning: {warning}")
        if failed:
            raise CommandError(f"{failed} file(s) rejected")
