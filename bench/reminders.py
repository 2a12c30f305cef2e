"""Benchmark: the daily deadline-reminder scan over 1,000,000 entries / 500 clients (issue 7).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_reminders \
        .venv/bin/python bench/reminders.py [--today 2026-12-23] [--template portal_bench_classify]

Reuses bench/classify.py's data: the database is created as a copy of its database (run bench/classify.py
first), migrated, and given people: one client admin per client and 25 staff members with 20 clients
each. Then it measures:
  1. the scan (entries.reminders.services.reminders_plan): who gets which reminder today; median of 3;
  2. the whole daily job (reminders_send, emails to Django's in-memory backend) from scratch, then again
     the same day (idempotent: nothing left to send);
  3. what keeping the dashboard's stored figures costs (entries.figures): one client's refresh, and the
     daily refresh of every client;
  4. the staff caseload dashboard and the deadline alerts page (first page and the next, keyset) for a
     manager (all 500 clients) and a staff member (20 clients): the first request, then median and p95
     server time over 20 requests (Django test client, in-process) and queries.
If the template database does not exist, bench/classify.py's data is built in place (1,000,000 entries,
generated as of 2026-11-23 and re-classified as of --today: about 2 minutes), once; later runs reuse it.
Prints a Markdown block for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")


def ensure_database(template: str) -> bool:
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for this benchmark (it is created if missing).")
    cfg = dj_database_url.parse(url)
    admin = psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or "postgres",
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
    has_template = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [template]).fetchone()
    built = False
    if not exists and has_template:
        print(f"Copying {template} into {cfg['NAME']} …", flush=True)
        admin.execute(f'CREATE DATABASE "{cfg["NAME"]}" TEMPLATE "{template}"')
    elif not exists:
        print(f"No {template}: building bench/classify.py's data in {cfg['NAME']} …", flush=True)
        admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
        built = True
    admin.close()
    return built


def build_data(today: date) -> None:
    """bench/classify.py's data as its own run leaves it: generated as of D0, then re-classified as of `today`.

    The re-classification records the path changes (EntryHistory) the reminders announce.
    """
    from django_scopes import scopes_disabled

    from bench.classify import generate
    from entries.tasks import reclassify_all_clients

    with scopes_disabled():  # a benchmark fixture spans every client by design
        generate(1_000_000, 500, 50_000)
    started = time.perf_counter()
    reclassify_all_clients(as_of=today.isoformat())
    print(f"re-classified as of {today} in {time.perf_counter() - started:.0f} s", flush=True)


def setup_people() -> tuple[int, int]:
    from django_scopes import scopes_disabled

    from clients.models import Client, Membership, StaffAssignment, User

    clients = list(Client.objects.order_by("pk"))
    with scopes_disabled():
        if not Membership.objects.filter(user__email__startswith="bench-admin-").exists():
            users = User.objects.bulk_create(
                [User(email=f"bench-admin-{c.pk}@example.com", full_name=f"Admin {c.pk}") for c in clients]
            )
            Membership.objects.bulk_create(
                [
                    Membership(client=c, user=u, role="client_admin")
                    for c, u in zip(clients, users, strict=True)
                ]
            )
        if not StaffAssignment.objects.filter(staff__email__startswith="bench-staff-").exists():
            staff = User.objects.bulk_create(
                [User(email=f"bench-staff-{n}@example.com", staff_role="staff") for n in range(25)]
            )
            StaffAssignment.objects.bulk_create(
                [StaffAssignment(client=c, staff=staff[i % 25]) for i, c in enumerate(clients)]
            )
    return len(clients), 25


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--today", default="2026-12-23", help="the day the job runs (bench data is classified then)"
    )
    parser.add_argument("--template", default="portal_bench_classify")
    args = parser.parse_args()
    built = ensure_database(args.template)

    import django

    django.setup()
    from django.conf import settings
    from django.core import mail
    from django.core.management import call_command

    settings.DEBUG = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    call_command("migrate", verbosity=0)
    if built:
        build_data(date.fromisoformat(args.today))

    from django_scopes import scopes_disabled

    from clients.models import ReminderDigest
    from entries.models import Entry
    from entries.reminders.services import reminders_plan, reminders_send

    today = date.fromisoformat(args.today)
    load_at_start = _load()
    client_count, staff_count = setup_people()
    with scopes_disabled():
        entries = Entry.objects.count()
        ReminderDigest.objects.filter(day=today).delete()  # a previous run's digests (their items cascade)

    scans = []
    for _ in range(3):
        started = time.perf_counter()
        plans = reminders_plan(today=today)
        scans.append(time.perf_counter() - started)
    items = sum(len(p.items) for p in plans.values())

    started = time.perf_counter()
    first = reminders_send(today=today)
    first_s = time.perf_counter() - started
    emails = len(mail.outbox)
    started = time.perf_counter()
    second = reminders_send(today=today)
    second_s = time.perf_counter() - started

    print(f"\n### Reminders and caseload benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    print(f"- Command: `{' '.join(sys.argv)}` on `{_database_name()}`")
    print(f"- Machine: {_cpu()}, {os.cpu_count()} cores, shared with other sessions' work")
    print(f"- Load average at start (1, 5, 15 min): {load_at_start}; at the end: {_load()}")
    print(f"- {entries:,} entries, {client_count} clients (one client admin each), {staff_count} staff with")
    print(f"  {client_count // staff_count} clients each; the job runs on {today} (PostgreSQL).\n")
    print("| What | Seconds | Result |")
    print("|---|---:|---|")
    print(
        f"| Scan: who gets which reminder (median of 3; max {max(scans):.2f}) | {statistics.median(scans):.2f} "
        f"| {len(plans)} recipients, {items:,} reminders |"
    )
    print(
        f"| Daily job from scratch: scan, record, render and send | {first_s:.2f} | {emails} emails, {first['items']:,} reminders recorded |"
    )
    print(f"| Same job again the same day | {second_s:.2f} | {second['sent']} emails (nothing sent twice) |")
    measure_figures_refresh()
    measure_dashboard()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _database_name() -> str:
    from django.db import connection

    return connection.settings_dict["NAME"]


def measure_figures_refresh() -> None:
    """What keeping the dashboard's figures costs the writers: one client's refresh, and every client's."""
    from django_scopes import scopes_disabled

    from clients.models import Client
    from entries.figures import figures_refresh, figures_refresh_all
    from entries.models import Entry

    with scopes_disabled():
        sizes = {
            c.pk: Entry.objects.filter(client=c).count()
            for c in Client.objects.filter(slug__in=["bench-0", "bench-1"])
        }
    print("\n| Stored figures refresh (entries.figures) | Seconds |")
    print("|---|---:|")
    for client_id, size in sorted(sizes.items(), key=lambda kv: -kv[1]):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            figures_refresh(client_id=client_id)
            times.append(time.perf_counter() - started)
        print(f"| One client, {size:,} entries (median of 5) | {statistics.median(times):.3f} |")
    started = time.perf_counter()
    count = figures_refresh_all()
    print(f"| Every client ({count}), the daily safety net | {time.perf_counter() - started:.1f} |")


def _with_totp(user) -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())


def measure_dashboard() -> None:
    """The caseload dashboard and the deadline alerts at this size: the first request of a fresh client
    session (nothing is cached: the figures are stored), then median and p95 over 20 requests."""
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from clients.models import User
    from staff.selectors import deadline_alerts

    manager, _ = User.objects.get_or_create(
        email="bench-manager@example.com", defaults={"staff_role": "staff_manager"}
    )
    staff = User.objects.get(email="bench-staff-0@example.com")
    print("\n| Page (1,000,000 entries) | First ms | Median ms | p95 ms | Queries |")
    print("|---|---:|---:|---:|---:|")
    for who, user in (("manager, all 500 clients", manager), ("staff member, 20 clients", staff)):
        _with_totp(user)
        http = HttpClient()
        http.force_login(user)
        alerts = deadline_alerts(user=user, today=timezone.localdate(), days=30)
        later = f"{alerts.next_after[0]}:{alerts.next_after[1]}" if alerts.next_after else ""
        for name, path in (
            ("Caseload dashboard", "/staff/"),
            ("Deadline alerts (30 days), first page", "/staff/deadlines/"),
            ("Deadline alerts, next page (keyset)", f"/staff/deadlines/?after={later}"),
        ):
            started = time.perf_counter()
            assert http.get(path).status_code == 200
            first = (time.perf_counter() - started) * 1000
            times = []
            for _ in range(20):
                started = time.perf_counter()
                response = http.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.status_code
            with CaptureQueriesContext(connection) as queries:
                http.get(path)
            times.sort()
            print(
                f"| {name}, {who} | {first:.0f} | {statistics.median(times):.0f} "
                f"| {times[int(len(times) * 0.95) - 1]:.0f} | {len(queries.captured_queries)} |"
            )


if __name__ == "__main__":
    main()
