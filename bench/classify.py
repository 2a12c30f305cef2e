"""Benchmark: the daily re-classification and the entry pages at scale (issue 4).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_classify \
        .venv/bin/python bench/classify.py [--entries 1000000] [--clients 500] [--big 50000]

Creates (or reuses) its own database, fills it with synthetic entries (no tariff lines: neither the
daily job nor the pages read them), then measures, each phase in a fresh process so peak RSS is its own:
  1. the daily job (entries.tasks.reclassify_all_clients) the day after the stored classification, and
     thirty days later (many paths and deadlines move): wall time, entries/s, changed, peak RSS;
  2. the entries page and the client overview of the client with --big entries, and of a client with a
     few: median and p95 server time over 30 requests (Django test client, in-process) and query counts.
Prints a Markdown block for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import ensure_database  # noqa: E402 (after sys.path)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")

D0 = date(2026, 11, 23)


def setup_django():
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log: it would grow without bound over a million rows


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(total: int, clients: int, big: int) -> None:
    """Fill the database: `clients` clients, the first with `big` entries, the rest sharing the remainder."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from brokerage.bulk import write_rows
    from clients.models import Client, ImporterNumber, Membership, User
    from domain.classification import classify_totals
    from entries.models import Entry

    call_command("migrate", verbosity=0)
    if Client.objects.filter(slug__startswith="bench-").count() == clients and Entry.objects.count() == total:
        print(f"reusing {total:,} entries in {clients} clients")
        return
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Entry._meta.db_table}, entries_entryline RESTART IDENTITY CASCADE")
    Client.objects.filter(slug__startswith="bench-").delete()
    rows = Client.objects.bulk_create(
        [Client(slug=f"bench-{i}", legal_name=f"Bench Importer {i} LLC") for i in range(clients)]
    )
    ImporterNumber.objects.bulk_create(
        [
            ImporterNumber(client=c, number=f"{10 + i % 89:02d}-{i:07d}00", verified_at=timezone.now())
            for i, c in enumerate(rows)
        ]
    )
    user, _ = User.objects.get_or_create(email="bench@bench.test", defaults={"full_name": "Bench"})
    Membership.objects.get_or_create(client=rows[0], user=user, defaults={"role": "client_admin"})
    small = rows[1]
    Membership.objects.get_or_create(client=small, user=user, defaults={"role": "client_admin"})
    rng = random.Random(7)
    columns = (
        "client_id",
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
        "goods_value",
        "ieepa_duty",
        "section_122_duty",
        "content_hash_a",
        "content_hash_b",
        "updated_at",
        "refund_path",
        "exclusion_reason",
        "projected_liquidation",
        "cape_window_closes",
        "protest_deadline",
        "next_deadline",
        "next_deadline_kind",
        "explanation",
        "rule_set_version",
        "registry_version",
        "classified_as_of",
    )
    from django.utils import timezone

    from domain.entry_numbers import check_digit
    from entries.registry import current_registry

    registry = current_registry()
    now = timezone.now()
    shares = [big] + [(total - big) // (clients - 1)] * (clients - 1)
    shares[-1] += total - sum(shares)
    start = time.perf_counter()
    serial = 0
    batch: list[tuple] = []
    for client, share in zip(rows, shares, strict=True):
        for _ in range(share):
            serial += 1
            first_ten = (
                f"B{serial // 10_000_000 % 10}{chr(65 + serial // 1_000_000 % 26)}{serial % 10_000_000:07d}"
            )
            number = first_ten + str(check_digit(first_ten))
            entry_date = date(2025, 2, 10) + timedelta(days=rng.randrange(0, 520))
            summary = entry_date + timedelta(days=7)
            roll = rng.random()
            liq_date = None
            if roll < 0.45:
                status = "liquidated"
                liq_date = min(
                    entry_date + timedelta(days=300 + rng.randrange(0, 40)), D0 - timedelta(days=1)
                )
                if liq_date <= summary:
                    status, liq_date = "unliquidated", None
            elif roll < 0.85:
                status = "unliquidated"
            else:
                status = rng.choice(["suspended", "extended", "under_review", "reliquidated"])
                if status == "reliquidated":
                    liq_date = min(entry_date + timedelta(days=320), D0 - timedelta(days=1))
            entry_type = rng.choices(["01", "03", "09", "11"], weights=[85, 5, 3, 7])[0]
            ieepa = Decimal(rng.randrange(0, 5_000_000)).scaleb(-2) if rng.random() > 0.1 else Decimal("0.00")
            s122 = (
                Decimal(rng.randrange(0, 500_000)).scaleb(-2)
                if entry_date >= date(2026, 2, 24)
                else Decimal("0.00")
            )
            if entry_date >= date(2026, 2, 24):
                ieepa = Decimal("0.00")
            flags = (rng.random() < 0.01, rng.random() < 0.01, rng.random() < 0.02)
            c = classify_totals(
                entry_number=number,
                entry_type=entry_type,
                entry_date=entry_date,
                entry_summary_date=summary,
                liquidation_status=status,
                liquidation_date=liq_date,
                drawback=flags[0],
                protest=flags[1],
                reconciliation=flags[2],
                ieepa_duty=ieepa,
                section_122_duty=s122,
                as_of=D0,
                registry=registry,
            )
            batch.append(
                (
                    client.pk,
                    number,
                    entry_type,
                    f"{10 + client.pk % 89:02d}-0000000",
                    "2704",
                    entry_date,
                    summary,
                    status,
                    liq_date,
                    *flags,
                    3,
                    ieepa + s122,
                    ieepa * 10,
                    ieepa,
                    s122,
                    0,
                    0,
                    now,
                    str(c.refund_path),
                    str(c.exclusion_reason or c.reason or ""),
                    c.projected_liquidation,
                    c.cape_window_closes,
                    c.protest_deadline,
                    c.next_deadline,
                    str(c.next_deadline_kind or ""),
                    c.explanation,
                    c.rule_set_version,
                    c.registry_version,
                    D0,
                )
            )
            if len(batch) >= 50_000:
                write_rows(Entry._meta.db_table, columns, batch)
                batch = []
    write_rows(Entry._meta.db_table, columns, batch)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Entry._meta.db_table}")
    print(f"generated {total:,} entries in {clients} clients in {time.perf_counter() - start:.0f} s")


def phase_reclassify(as_of: str) -> None:
    setup_django()
    from entries.tasks import reclassify_all_clients

    start = time.perf_counter()
    totals = reclassify_all_clients(as_of=as_of)
    elapsed = time.perf_counter() - start
    print(
        f"RESULT reclassify {as_of} {elapsed:.2f} {totals['checked']} {totals['changed']} {peak_rss_mb():.0f}"
    )


def phase_pages() -> None:
    setup_django()
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    from clients.models import User

    http = HttpClient()
    http.force_login(User.objects.get(email="bench@bench.test"))
    for slug in ("bench-0", "bench-1"):
        for name, path in (("entries", f"/c/{slug}/entries/"), ("overview", f"/c/{slug}/")):
            http.get(path)  # warm caches and connections
            times = []
            for _ in range(30):
                start = time.perf_counter()
                response = http.get(path)
                times.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.status_code
            with CaptureQueriesContext(connection) as queries:
                http.get(path)
            times.sort()
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"RESULT page {slug} {name} {statistics.median(times):.1f} {p95:.1f} {len(queries.captured_queries)}"
            )


def run_phase(*args: str) -> list[list[str]]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True, env=os.environ
    )
    return [line.split()[1:] for line in out.stdout.splitlines() if line.startswith("RESULT ")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--big", type=int, default=50_000)
    parser.add_argument("--phase", choices=["reclassify", "pages"])
    parser.add_argument("--as-of")
    args = parser.parse_args()
    if args.phase == "reclassify":
        return phase_reclassify(args.as_of)
    if args.phase == "pages":
        return phase_pages()

    ensure_database()
    setup_django()
    from django_scopes import scopes_disabled

    with scopes_disabled():  # a benchmark fixture spans every client by design
        generate(args.entries, args.clients, args.big)
    lines = ["| measurement | figure |", "|---|---|"]
    for offset, label in ((1, "next day (a normal daily run)"), (30, "30 days later (many paths move)")):
        # Each run starts from the stored state of the one before; reset so both start from D0.
        _reset_to_d0()
        ((_, _, seconds, checked, changed, rss),) = run_phase(
            "--phase", "reclassify", "--as-of", (D0 + timedelta(days=offset)).isoformat()
        )
        rate = int(checked) / float(seconds)
        lines.append(
            f"| daily job, {label} | {float(seconds):.1f} s for {int(checked):,} entries ({rate:,.0f}/s), {int(changed):,} changed, peak RSS {rss} MB |"
        )
    for _, slug, page, median, p95, queries in run_phase("--phase", "pages"):
        size = f"{args.big:,} entries" if slug == "bench-0" else "~2,000 entries"
        lines.append(
            f"| {page} page, client with {size} | median {median} ms, p95 {p95} ms, {queries} queries |"
        )
    print("\n".join(lines))


def _reset_to_d0() -> None:
    from django.db import connection
    from django_scopes import scopes_disabled

    from entries.models import Entry, EntryHistory

    with scopes_disabled():  # spans every client: benchmark bookkeeping
        changed = Entry.objects.exclude(classified_as_of=D0).exists()
    # Entries changed by an earlier run get their D0 classification back by re-running the job as of D0.
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {EntryHistory._meta.db_table}")
    if changed:
        run_phase("--phase", "reclassify", "--as-of", D0.isoformat())
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {EntryHistory._meta.db_table}")


if __name__ == "__main__":
    main()
