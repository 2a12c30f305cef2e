from datetime import date

from django.core.management.base import BaseCommand, CommandError

from domain.deadlines import CURRENT_RULES
from entries.tasks import reclassify_all_clients


class Command(BaseCommand):
    help = (
        "Re-classify every stored entry of every active client now, as the daily job does (dates in the "
        "portal's time zone, America/New_York). Run it after a deploy that makes a new rule set current: "
        "entries classified under an older rule set move to the current one, their history names both "
        "versions, and each client whose refund paths changed gets one notice (email and overview banner). "
        "Running it again changes and sends nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="the day to classify for (default: today)")

    def handle(self, *args, as_of=None, **options):
        if as_of:
            try:
                date.fromisoformat(as_of)
            except ValueError as error:
                raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {as_of!r}.") from error
        totals = reclassify_all_clients(as_of=as_of)
        self.stdout.write(
            f"rule set {CURRENT_RULES.version}: {totals['checked']} entries of {totals['clients']} clients checked, "
            f"{totals['changed']} changed, {totals['rule_set_changes']} moved from an older rule set, "
            f"{totals['notified_clients']} clients notified"
        )
