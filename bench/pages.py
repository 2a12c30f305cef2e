"""Benchmark: the pages at scale, 5,000,000 entries over 2,000 clients (issue 18, "Pages at scale").

    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_bench_pages \
        .venv/bin/python bench/pages.py [--entries 5000000] [--clients 2000] [--big 50000] [--today 2026-12-23]

Fills its own database with bench/classify.py's synthetic entries (classified as of 2026-11-23; reused
when it already holds the same numbers), gives every client an admin and 25 staff members an equal share
of the clients (bench/reminders.py's people), then measures:
  1. the nightly re-classification as of --today and the figures refresh of every client (wall time);
  2. each page over 20 requests (Django test client, in-process, after one warm-up request): median and
     p95 server time and the query count, on the client with --big entries and on a small client (the
     same count on both shows that the count does not grow with rows): the client's entries list, an
     entry page, the staff caseload dashboard and the deadline alerts (first page and the next, keyset),
     for a manager (every client) and a staff member (their share).
Prints a Markdown block for docs/PERFORMANCE.md, with the load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

from bench.common import ensure_database, machine_facts  # noqa: E402 (after sys.path)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _time_page(http, path: str, runs: int = 20) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert http.get(path).status_code == 200, path  # warm-up: connections, templates
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = http.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        http.get(path)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], len(queries.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=5_000_000)
    parser.add_argument("--clients", type=int, default=2_000)
    parser.add_argument("--big", type=int, default=50_000)
    parser.add_argument("--today", default="2026-12-23")
    parser.add_argument("--skip-nightly", action="store_true", help="measure the pages only")
    args = parser.parse_args()
    pg_version = ensure_database()

    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log growing over millions of rows
    from django.test import Client as HttpClient
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from bench.classify import generate
    from bench.reminders import _with_totp, setup_people
    from clients.models import Client, User
    from entries.figures import figures_refresh_all
    from entries.models import Entry
    from entries.tasks import reclassify_all_clients
    from staff.selectors import deadline_alerts

    facts = machine_facts(pg_version)
    started = time.perf_counter()
    with scopes_disabled():  # a benchmark fixture spans every client by design
        generate(args.entries, args.clients, args.big)
    generated_s = time.perf_counter() - started
    client_count, staff_count = setup_people()

    lines = [
        f"### Pages at scale, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- Command: `{' '.join(sys.argv)}`",
        *(f"- {name}: {value}" for name, value in facts),
        f"- {args.entries:,} entries over {client_count:,} clients (the largest {args.big:,}), "
        f"{staff_count} staff with {client_count // staff_count} clients each; data ready in {generated_s:.0f} s",
        "",
        "| Nightly work | Seconds | Load average after |",
        "|---|---:|---|",
    ]
    if not args.skip_nightly:
        started = time.perf_counter()
        totals = reclassify_all_clients(as_of=args.today)
        lines.append(
            f"| Re-classification of every entry as of {args.today} ({totals['checked']:,} checked, "
            f"{totals['changed']:,} changed) | {time.perf_counter() - started:.1f} | {_load()} |"
        )
        started = time.perf_counter()
        count = figures_refresh_all()
        lines.append(
            f"| Figures refresh of every client ({count:,}) | {time.perf_counter() - started:.1f} | {_load()} |"
        )

    big, small = Client.objects.get(slug="bench-0"), Client.objects.get(slug="bench-1")
    with scopes_disabled():
        sizes = {c.slug: Entry.objects.filter(client=c).count() for c in (big, small)}
        entry_of = {
            c.slug: Entry.objects.filter(client=c).order_by("next_deadline", "pk").first().entry_number
            for c in (big, small)
        }
    lines += ["", "| Page | Median ms | p95 ms | Queries | Load average after |", "|---|---:|---:|---:|---|"]
    member = HttpClient()
    member.force_login(User.objects.get(email="bench@bench.test"))  # admin of bench-0 and bench-1
    for client in (big, small):
        who = f"client with {sizes[client.slug]:,} entries"
        for name, path in (
            ("Entries list", f"/c/{client.slug}/entries/"),
            ("Entries list, deadline within 30 days", f"/c/{client.slug}/entries/?window=30"),
            ("Entry page", f"/c/{client.slug}/entries/{entry_of[client.slug]}/"),
        ):
            median, p95, queries = _time_page(member, path)
            lines.append(f"| {name}, {who} | {median:.0f} | {p95:.0f} | {queries} | {_load()} |")

    manager, _ = User.objects.get_or_create(
        email="bench-manager@example.com", defaults={"staff_role": "staff_manager"}
    )
    staff = User.objects.get(email="bench-staff-0@example.com")
    for who, user in (
        (f"manager, all {client_count:,} clients", manager),
        (f"staff member, {client_count // staff_count} clients", staff),
    ):
        _with_totp(user)
        http = HttpClient()
        http.force_login(user)
        alerts = deadline_alerts(user=user, today=timezone.localdate(), days=30)
        later = f"{alerts.next_after[0]}:{alerts.next_after[1]}" if alerts.next_after else ""
        for name, path in (
            ("Caseload dashboard", "/staff/"),
            ("Caseload dashboard, page 2", "/staff/?page=2"),
            ("Deadline alerts (30 days), first page", "/staff/deadlines/"),
            ("Deadline alerts, next page (keyset)", f"/staff/deadlines/?after={later}"),
        ):
            median, p95, queries = _time_page(http, path)
            lines.append(f"| {name}, {who} | {median:.0f} | {p95:.0f} | {queries} | {_load()} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
