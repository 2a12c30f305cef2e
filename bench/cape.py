"""Benchmark of CAPE declarations and the refund ledger, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_cape .venv/bin/python bench/cape.py

Targets (issue 6): a client with 100,000 eligible entries, building and writing the 11 files in under 2 s;
uploading a 500,000-row ES-022 in under 20 s. What it measures, each on a fresh client:

  * build: a client with --entries (100,000) eligible entries: the preview (plan only); the command's path
    (plan + the 11 files written to a directory, nothing reserved); the service that builds the batch
    (client row locked, plan, 11 draft declarations with their bytes, 100,000 ledger rows reserved); the
    zip of the 11 files as the download view makes it;
  * reconcile: a client with --es022-rows (500,000) accepted ledger entries (built, filed, and accepted by
    a CBP results file of the same size, itself timed), then an ES-022 of --es022-rows rows (one per entry,
    0.2% of them for entries that are not the client's, so the unmatched path runs too): upload (file
    kept, checksum) and reconciliation (read, match, UPDATE ... FROM, unmatched rows stored) timed apart.

The database must be a dedicated one whose name contains "bench": it is created and migrated if missing,
and its client data is truncated at the start of every run. --write-doc appends the figures to
docs/PERFORMANCE.md (its own section, replaced on the next run).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import EMPTY_CLIENTS_SQL, ensure_database  # noqa: E402 (after sys.path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_cape"
AS_OF = date(2026, 11, 23)
IEEPA_FROM = date(2025, 2, 4).toordinal()
IEEPA_DAYS = (date(2026, 2, 23) - date(2025, 2, 4)).days
DOC_START = "<!-- bench/cape.py results: start -->"
DOC_END = "<!-- bench/cape.py results: end -->"


def _setup_django(work: Path) -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")
    os.environ.setdefault("PRIVATE_STORAGE_ROOT", str(work / "storage"))
    os.environ.setdefault("UPLOAD_MAX_BYTES", str(4 * 1024**3))
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    # The entries' filer codes (_entry_number): the brokerage's own, so every entry goes into its files.
    os.environ.setdefault("BROKERAGE_FILER_CODES", ",".join(f"BK{c}" for c in "ABCDEFGHJ"))
    import django

    django.setup()


def _prepare() -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A dedicated database: every client's rows (entries, ledger, reports, audit) go with the clients.
        cursor.execute(EMPTY_CLIENTS_SQL)


def _entry_number(index: int) -> str:
    from domain.entry_numbers import check_digit

    first_ten = f"{'BK' + 'ABCDEFGHJ'[index // 10**7]}{index % 10**7:07d}"
    return f"{first_ten}{check_digit(first_ten)}"


def _client_with_entries(slug: str, count: int, importer: str):
    """A client (and a staff manager) with `count` CAPE entries, inserted with COPY: setup, not measured."""
    from django.db import connection
    from django.db.models.expressions import DatabaseDefault
    from django.utils import timezone
    from django_scopes import scopes_disabled

    from brokerage.bulk import write_rows
    from clients.models import Client, ImporterNumber, User
    from entries.models import Entry

    client = Client.objects.create(slug=slug, legal_name=f"{slug} LLC")
    with scopes_disabled():
        ImporterNumber.objects.create(client=client, number=importer, verified_at=timezone.now())
    actor, _ = User.objects.get_or_create(
        email="bench-manager@example.com", defaults={"staff_role": "staff_manager"}
    )
    template = Entry(
        client=client,
        entry_type="01",
        importer_number=importer,
        port="2704",
        entry_date=date(2025, 5, 1),
        entry_summary_date=date(2025, 5, 8),
        liquidation_status="unliquidated",
        refund_path="cape_phase1",
        updated_at=timezone.now(),
        classified_as_of=AS_OF,
    )
    fields = [
        f
        for f in Entry._meta.concrete_fields
        if not f.primary_key and not isinstance(getattr(template, f.attname), DatabaseDefault)
    ]
    values = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields]
    position = {f.name: i for i, f in enumerate(fields)}
    rows = []
    for index in range(count):
        row = list(values)
        row[position["entry_number"]] = _entry_number(index)
        row[position["ieepa_duty"]] = Decimal(100 + index % 9000) + Decimal("0.25")
        # Entry summary dates spread over the IEEPA year, as a real caseload's are (interest per date).
        row[position["entry_summary_date"]] = date.fromordinal(IEEPA_FROM + index * 7919 % IEEPA_DAYS)
        # One entry in ten is a Phase 2 entry (open on the as-of day): the warning path runs too.
        # (flagged for reconciliation, so that classifying it again as of the day gives Phase 2 too).
        row[position["refund_path"]] = "cape_phase2" if index % 10 == 0 else "cape_phase1"
        row[position["reconciliation"]] = index % 10 == 0
        rows.append(tuple(row))
    write_rows(Entry._meta.db_table, [f.column for f in fields], rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE entries_entry")
    return client, actor


def _timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_build(entries: int, work: Path) -> dict:
    from django.core.management import call_command
    from django_scopes import scope

    from domain import cape
    from refunds.models import Declaration
    from refunds.planning import declaration_plan
    from refunds.selectors import batch_declarations, declaration_content
    from refunds.services import declaration_batch_build

    client, actor = _client_with_entries("bench-cape-build", entries, "27-418305200")
    with scope(client=client):
        plan, preview = _timed(declaration_plan, client=client, as_of=AS_OF)
        out = work / "files"
        _, command = _timed(
            call_command,
            "build_cape_files",
            "--client",
            client.slug,
            "--as-of",
            AS_OF.isoformat(),
            "--output-dir",
            str(out),
            stdout=open(os.devnull, "w"),  # noqa: SIM115
            stderr=open(os.devnull, "w"),  # noqa: SIM115
        )
        written = sorted(out.iterdir())
        batch, build = _timed(declaration_batch_build, actor=actor, client=client, as_of=AS_OF)

        def zip_all():
            return cape.zip_files(
                [(d.filename, declaration_content(declaration=d)) for d in batch_declarations(batch=batch)]
            )

        archive, zipped = _timed(zip_all)
        declarations = Declaration.objects.filter(batch=batch).count()
        for path in written:
            assert cape.validate_file(path.read_bytes()) == []
    assert plan.count == entries and batch.entry_count == entries
    return {
        "entries": entries,
        "files": declarations,
        "files_written": len(written),
        "preview": preview,
        "command": command,
        "build": build,
        "zip": zipped,
        "zip_bytes": len(archive),
    }


def _write_csv(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as handle:
        handle.write(",".join(header) + "\r\n")
        for row in rows:
            handle.write(",".join(row) + "\r\n")


def _upload_and_process(client, actor, kind: str, path: Path, work: Path) -> tuple[object, float, dict]:
    """The upload in this process; the reconciliation in a fresh one (as a worker runs it), so that its peak
    RSS is its own and not this generator's."""
    import json
    import subprocess

    from django.core.files import File
    from django_scopes import scope

    from refunds.services import cbp_report_upload

    with scope(client=client), path.open("rb") as handle:
        upload = File(handle, name=path.name)
        upload.size = path.stat().st_size
        report, uploaded = _timed(
            cbp_report_upload, actor=actor, client=client, kind=kind, uploaded=upload, enqueue=False
        )
    command = [sys.executable, __file__, "--reconcile-only", str(report.pk), "--workdir", str(work)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ).stdout
    measured = json.loads(output.strip().splitlines()[-1])
    with scope(client=client):
        report.refresh_from_db()
    assert report.status == "succeeded", report.message
    return report, uploaded, measured


def reconcile_only(report_id: int) -> dict:
    """Runs in the subprocess: the reconciliation exactly as the task runs it, timed."""
    from django_scopes import scope, scopes_disabled

    from refunds.models import CbpReport
    from refunds.services import cbp_report_process

    with scopes_disabled():
        report = CbpReport.objects.select_related("client", "declaration", "created_by").get(pk=report_id)
    before = _peak_rss_mb()
    with scope(client=report.client):
        _, wall = _timed(cbp_report_process, report=report)
    return {"wall": wall, "rss_mb": _peak_rss_mb(), "rss_before_mb": before}


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM): unlike ru_maxrss, Linux does not carry it over from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_es022(rows: int, work: Path) -> dict:
    from django.utils import timezone
    from django_scopes import scope

    from refunds.models import Declaration
    from refunds.services import declaration_batch_build, declaration_record_filing

    client, actor = _client_with_entries("bench-cape-es022", rows, "61-907734100")
    with scope(client=client):
        batch, build = _timed(declaration_batch_build, actor=actor, client=client, as_of=AS_OF)
        claims = {}
        for declaration in Declaration.objects.filter(batch=batch).defer("content").order_by("sequence"):
            filed = declaration_record_filing(
                actor=actor,
                declaration=declaration,
                claim_number=f"CAPE-{declaration.sequence:04d}",
                filed_on=timezone.localdate(),  # a filing cannot predate the build (today)
                override_reason="Benchmark client: onboarding is not part of the measurement.",
            )
            claims[declaration.pk] = filed.claim_number
        ledger = list(
            Declaration.objects.filter(batch=batch)
            .values_list("ledger__entry_number", "claim_number")
            .order_by()
        )
    results_path = work / "results.csv"
    _write_csv(
        results_path,
        ["Claim Number", "Entry Number", "Status", "Reason"],
        ((claim, number, "Accepted", "") for number, claim in ledger),
    )
    results, results_upload, results_run = _upload_and_process(client, actor, "results", results_path, work)
    unmatched = rows // 500
    es022_path = work / "es022.csv"

    def es022_rows():
        for index, (number, claim) in enumerate(ledger[: rows - unmatched]):
            yield (claim, number, f"{100 + index % 9000}.25", f"{index % 97}.{index % 100:02d}", "12/10/2026")
        for index in range(unmatched):
            yield ("CAPE-0001", _entry_number(8 * 10**7 + index), "1.00", "0.01", "12/10/2026")

    _write_csv(
        es022_path,
        ["CAPE Claim Number", "Entry Number", "Principal Amount", "Interest Amount", "Refund Date"],
        es022_rows(),
    )
    report, uploaded, run = _upload_and_process(client, actor, "es022", es022_path, work)
    assert report.rows_read == rows and report.rows_unmatched == unmatched, report.message
    return {
        "rows": rows,
        "build": build,
        "results_upload": results_upload,
        "results_process": results_run["wall"],
        "results_matched": results.rows_matched,
        "upload": uploaded,
        "process": run["wall"],
        "rss_mb": run["rss_mb"],
        "rss_before_mb": run["rss_before_mb"],
        "matched": report.rows_matched,
        "unmatched": report.rows_unmatched,
        "mb": es022_path.stat().st_size / 1e6,
    }


def _machine(version: str) -> list[str]:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return [
        f"- Load average at start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- CPU: {cpu}, {os.cpu_count()} cores (nproc)",
        f"- Memory: {memory:.1f} GiB",
        f"- PostgreSQL: {version}",
        f"- Python: {platform.python_version()}",
    ]


def _report(build: dict, es022: dict, machine: list[str], command: str) -> str:
    b, e = build, es022
    lines = [
        DOC_START,
        f"### CAPE benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        *machine,
        "",
        "Command:",
        "",
        "```",
        command,
        "```",
        "",
        "| Measurement | Size | Wall time (s) | Target |",
        "|---|---:|---:|---|",
        f"| Preview (plan: select, guard, check digits, split, interest) | {b['entries']:,} entries | {b['preview']:.2f} | |",
        f"| `build_cape_files`: plan + {b['files_written']} files written to disk (nothing reserved) | {b['entries']:,} entries | {b['command']:.2f} | < 2 s |",
        f"| Build service: lock, plan, {b['files']} draft declarations with their bytes, ledger rows reserved | {b['entries']:,} entries | {b['build']:.2f} | < 2 s |",
        f"| Zip of the {b['files']} files (download) | {b['zip_bytes'] / 1e6:.1f} MB | {b['zip']:.2f} | |",
        f"| Build service (ES-022 client) | {e['rows']:,} entries | {e['build']:.2f} | |",
        f"| CBP results file: upload + reconcile (all accepted) | {e['rows']:,} rows | {e['results_upload']:.2f} + {e['results_process']:.2f} | |",
        f"| ES-022 upload (file kept, SHA-256) | {e['rows']:,} rows, {e['mb']:.0f} MB | {e['upload']:.2f} | |",
        f"| ES-022 reconciliation ({e['matched']:,} matched, {e['unmatched']:,} unmatched; peak RSS {e['rss_mb']:.0f} MB, {e['rss_before_mb']:.0f} MB before) | {e['rows']:,} rows | {e['process']:.2f} | |",
        f"| **ES-022 upload + reconciliation** | {e['rows']:,} rows | **{e['upload'] + e['process']:.2f}** | < 20 s |",
        DOC_END,
    ]
    return "\n".join(lines)


def _write_doc(text: str) -> None:
    doc = ROOT / "docs" / "PERFORMANCE.md"
    current = doc.read_text() if doc.exists() else "# Performance\n"
    if DOC_START in current and DOC_END in current:
        head, rest = current.split(DOC_START, 1)
        current = head + text + rest.split(DOC_END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + text + "\n"
    doc.write_text(current)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--es022-rows", type=int, default=500_000)
    parser.add_argument("--write-doc", action="store_true")
    parser.add_argument("--reconcile-only", type=int, metavar="REPORT_ID", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reconcile_only:
        import json

        _setup_django(args.workdir)
        print(json.dumps(reconcile_only(args.reconcile_only)))
        return
    machine_load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-cape-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
        version = ensure_database()
        _setup_django(work)
        _prepare()
        machine = _machine(version)
        machine[0] = f"- Load average at start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in machine_load)}"
        build = bench_build(args.entries, work)
        es022 = bench_es022(args.es022_rows, work)
    command = (
        f"DATABASE_URL={os.environ['DATABASE_URL']} .venv/bin/python bench/cape.py"
        + (f" --entries {args.entries}" if args.entries != 100_000 else "")
        + (f" --es022-rows {args.es022_rows}" if args.es022_rows != 500_000 else "")
        + (" --write-doc" if args.write_doc else "")
    )
    text = _report(build, es022, machine, command)
    print(text)
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.write_doc:
        _write_doc(text)


if __name__ == "__main__":
    main()
