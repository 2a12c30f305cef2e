"""Benchmark: one broker-wide ES-003 report routed to the clients, end to end (issue 18).

    DATABASE_URL=postgres://portal:portal@127.0.0.1:5432/portal_bench_broker \
        .venv/bin/python bench/broker.py --rows 1000000 --rows 2000000 [--importers 500] [--clients 100]

For each --rows: generates the CSV with bench/ingest.py's generator (5 rows per entry, --importers importer
numbers), empties the database's clients, creates --clients clients holding an equal share of the importer
numbers (verified) and a staff manager, then uploads and routes the report as the task does
(entries.ingestion.routing.broker_report_upload, then broker_report_route: every client's share imported as its own
report, with its figures) in a fresh process. Reported: wall time and time per million rows (flat when
the growth is linear), the routing pass against the clients' imports, the slowest share, peak memory of
the process and of its largest child (the second-half staging), rows routed and entries stored.
The database must be a dedicated one (its name must contain "bench").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import EMPTY_CLIENTS_SQL, ensure_database, machine_facts  # noqa: E402 (after sys.path)
from bench.ingest import AS_OF, ROWS_PER_ENTRY, generate_csv  # noqa: E402


def importer_numbers(count: int) -> tuple[str, ...]:
    return tuple(f"{10 + i % 89:02d}-{i:07d}00" for i in range(count))


def _setup_django(work: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", str(work / "storage"))
    os.environ.setdefault("UPLOAD_MAX_BYTES", str(4 * 1024**3))
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False


def prepare(importers: tuple[str, ...], clients: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from clients.models import Client, ImporterNumber, User

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(EMPTY_CLIENTS_SQL)
    with scopes_disabled():
        rows = Client.objects.bulk_create(
            [Client(slug=f"broker-{i}", legal_name=f"Broker Client {i} LLC") for i in range(clients)]
        )
        ImporterNumber.objects.bulk_create(
            [
                ImporterNumber(client=rows[i % clients], number=number, verified_at=timezone.now())
                for i, number in enumerate(importers)
            ]
        )
    User.objects.get_or_create(email="bench-broker@example.com", defaults={"staff_role": "staff_manager"})


def route_only(path: Path) -> dict:
    """Runs in the subprocess: upload and route exactly as the staff page and its task do, timed."""
    from django.core.files import File
    from django.db.models import Sum
    from django_scopes import scopes_disabled

    from clients.models import User
    from entries.ingestion import routing
    from entries.models import BrokerReport, Entry, PathFigures

    shares: list[tuple[int, float]] = []
    original = routing._import_share

    def timed(report, client_id, share_path, rows, as_of):
        started = time.perf_counter()
        try:
            return original(report, client_id, share_path, rows, as_of)
        finally:
            shares.append((rows, time.perf_counter() - started))

    routing._import_share = timed
    routing.enqueue_on_commit = lambda *task: None  # the route is called below, as the task would call it
    actor = User.objects.get(email="bench-broker@example.com")
    started = time.perf_counter()
    with path.open("rb") as handle:
        upload = File(handle, name=path.name)
        upload.size = path.stat().st_size
        report = routing.broker_report_upload(actor=actor, uploaded=upload)
    uploaded = time.perf_counter()
    routing.broker_report_route(report=BrokerReport.objects.get(pk=report.pk), as_of=AS_OF)
    wall = time.perf_counter() - started
    report.refresh_from_db()
    assert report.status == BrokerReport.Status.SUCCEEDED, report.message
    with scopes_disabled():  # the bench checks every client's result
        entries = Entry.objects.count()
        figured = PathFigures.objects.aggregate(n=Sum("entries"))["n"] or 0
    imports = sum(seconds for _, seconds in shares)
    slowest = max(shares, key=lambda share: share[1] / max(share[0], 1))
    return {
        "wall": wall,
        "upload": uploaded - started,
        "imports": imports,
        "routing": wall - (uploaded - started) - imports,
        "clients": len(shares),
        "slowest_share": slowest,
        "rows": report.rows_read,
        "unmatched": report.rows_unmatched,
        "entries": entries,
        "figured": figured,
        "hwm_mb": next(
            int(line.split()[1]) / 1024
            for line in Path("/proc/self/status").open()
            if line.startswith("VmHWM")
        ),
        "child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, action="append", help="rows of a report (repeat for several)")
    parser.add_argument("--importers", type=int, default=500)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--route-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-broker-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.route_only:
        _setup_django(work)
        print(json.dumps(route_only(args.route_only)))
        return
    pg_version = ensure_database()
    _setup_django(work)
    importers = importer_numbers(args.importers)
    lines = [
        "| Rows | Entries | Wall s | s per million rows | Routing pass s | Imports s (slowest share, s per 10k rows) "
        "| Peak MB (process / largest child) | Load average after |",
        "|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    facts = machine_facts(pg_version)
    for rows in args.rows or [1_000_000]:
        path = work / f"broker-{rows}.csv"
        if not path.exists():
            generate_csv(path, rows, importers)
        prepare(importers, args.clients)
        done = subprocess.run(
            [sys.executable, __file__, "--route-only", str(path), "--workdir", str(work)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=os.environ,
        )
        if done.returncode:
            sys.exit(done.stderr)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        assert r["rows"] == rows and r["unmatched"] == 0, r
        assert r["entries"] == r["figured"] == -(-rows // ROWS_PER_ENTRY), r
        share_rows, share_s = r["slowest_share"]
        lines.append(
            f"| {rows:,} | {r['entries']:,} | {r['wall']:.1f} | {r['wall'] / rows * 1e6:.1f} | "
            f"{r['routing']:.1f} | {r['imports']:.1f} ({r['clients']} clients; {share_s / share_rows * 1e4:.2f}) | "
            f"{r['hwm_mb']:.0f} / {r['child_mb']:.0f} | {' '.join(f'{x:.2f}' for x in os.getloadavg())} |"
        )
        path.unlink()
    print("\n".join([*(f"- {name}: {value}" for name, value in facts), "", *lines]))


if __name__ == "__main__":
    main()
