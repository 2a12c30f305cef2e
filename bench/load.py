"""Load test: 50 concurrent logged-in sessions against gunicorn on PostgreSQL and Redis (issue 8).

    .venv/bin/python bench/load.py [--runs 2] [--write-doc]

1. Creates (if missing) a dedicated PostgreSQL database (DATABASE_URL, default portal_bench_load; the name
   must contain "bench"), migrates it and fills it once: 20 clients, each with a client admin and two
   members, 8 staff members (2-3 assigned clients each) and 2 managers, all with known passwords; staff
   have TOTP authenticators whose secrets the script keeps. Each client's entries (2,000 to 50,000 per
   client) arrive as generated ES-003 reports (bench/ingest.py's generator, a few entries with a bad
   date so that the error reports have rows), uploaded and imported through the real services.
   The next runs reuse the data (--reset starts again).
2. Starts gunicorn (--workers, default 4) on a loopback port with production settings: DEBUG=false,
   collectstatic + whitenoise, Redis (REDIS_URL, default db 6) for the cache, secure cookies. The load
   generator sends X-Forwarded-Proto: https, as the TLS-terminating proxy in front of gunicorn would.
3. Runs Locust headless (bench/locustfile.py, installed from bench/requirements.txt into its own
   virtualenv var/bench-load-venv): --users sessions (default 50), started at --spawn-rate per second.
   Each session is one person, logged in through the real login form (and the TOTP step for staff),
   from its own loopback address (127.0.0.N: allauth limits logins per address). When every session is
   in, all browse together for --duration seconds (default 60) with --think seconds between pages.
   Before the runs, a --baseline of two sessions without think time gives each page's own time.
4. Prints requests, errors, p50/p95/p99 and requests/s per page kind and in total, for the browsing and
   for the logins, with the machine's load; --write-doc writes them into docs/PERFORMANCE.md between the
   bench/load.py markers.
An error is any response the session did not expect: a status other than the expected one (2xx, or the
404 of the tenancy probe), a redirect to the login page, a wrong content type or an empty download.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.common import EMPTY_CLIENTS_SQL, ensure_database, machine_facts  # noqa: E402 (after sys.path)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_load"
DEFAULT_REDIS = "redis://127.0.0.1:6379/6"
WORK = ROOT / "var" / "bench-load"
VENV = ROOT / "var" / "bench-load-venv"
REQUIREMENTS = ROOT / "bench" / "requirements.txt"
PASSWORD = "load-bench-Refunds-2026"  # noqa: S105 - benchmark people only, in a dedicated database
EMAIL_DOMAIN = "load.bench.test"
ENTRIES_PER_REPORT = 5_000  # a monthly ES-003 export of a busy importer
BAD_ENTRY_EVERY = 400  # one entry in 400 has a row with an impossible date: the error reports have rows
DOC_START, DOC_END = "<!-- bench/load.py results: start -->", "<!-- bench/load.py results: end -->"
DOC_SECTION = "## Load: 50 concurrent sessions (issue 8, bench/load.py)"

_NAMES = (
    "Pacific Rim Housewares",
    "Great Lakes Fasteners",
    "Sunrise Apparel Group",
    "Blue Ridge Outdoor",
    "Harborview Electronics",
    "Prairie Tool & Die",
    "Coastal Home Textiles",
    "Summit Bicycle Works",
    "Redwood Furniture Imports",
    "Gulf Coast Ceramics",
    "Northstar Lighting",
    "Mesa Kitchenware",
    "Atlantic Toy Company",
    "Cascade Footwear",
    "Lone Star Auto Parts",
    "Bayou Garden Supply",
    "Granite State Luggage",
    "Silver Lake Sporting Goods",
    "Mission Bay Appliances",
    "Hudson Valley Paper",
)


# ---- the load generator's own virtualenv ----------------------------------------------------------


def ensure_locust() -> Path:
    """var/bench-load-venv with bench/requirements.txt (reinstalled when the file changes)."""
    stamp = VENV / f".installed-{hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:16]}"
    if not stamp.exists():
        print(f"Installing Locust into {VENV.relative_to(ROOT)} (bench/requirements.txt) …", flush=True)
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
            check=True,
        )
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    return VENV / "bin" / "locust"


# ---- the database and its data --------------------------------------------------------------------


def _entry_counts(clients: int, largest: int, smallest: int) -> list[int]:
    """Entries per client, from `largest` down to `smallest` (geometric: a few big importers, many small)."""
    if clients == 1:
        return [largest]
    ratio = (smallest / largest) ** (1 / (clients - 1))
    return [round(largest * ratio**k, -2) for k in range(clients)]


def _ior(k: int, n: int) -> str:
    return f"{20 + k:02d}-{(k * 7919 + n * 104729 + 1234567) % 10**7:07d}{n:02d}"


def _write_report(path: Path, first_index: int, count: int, importers: tuple[str, ...], seed: int) -> None:
    from ingest import HEADER, _entry_rows

    rng = random.Random(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(HEADER)
        for index in range(first_index, first_index + count):
            rows = _entry_rows(rng, index, importers)
            if index % BAD_ENTRY_EVERY == 7:
                rows[0][4] = "02/30/2025"  # Entry Date: no such day; the entry is rejected with its rows
            writer.writerows(rows)


def _user(email: str, name: str, staff_role: str = ""):
    from allauth.account.models import EmailAddress

    from clients.models import User

    user = User.objects.create_user(email, PASSWORD, full_name=name, staff_role=staff_role)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def prepare(clients: int, largest: int, smallest: int) -> dict:
    """The clients, people and entries; returns what the load sessions need to know (people.json)."""
    from allauth.mfa.totp.internal.auth import TOTP
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection
    from django_scopes import scope, scopes_disabled

    from clients.models import Membership, User
    from clients.services import client_create, staff_assign
    from domain.entry_numbers import display
    from entries.ingestion.services import report_import, report_upload
    from entries.models import Entry

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # A dedicated database: every client's rows (entries, reports, audit) go with the clients.
        cursor.execute(EMPTY_CLIENTS_SQL)
    with scopes_disabled():
        User.objects.filter(email__endswith=EMAIL_DOMAIN).delete()
    shutil.rmtree(WORK / "storage", ignore_errors=True)  # the stored copies of the reports

    people: list[dict] = []
    totp = {}
    managers = []
    for n in range(2):
        email = f"manager{n + 1}@{EMAIL_DOMAIN}"
        user = _user(email, f"Manager {n + 1}", User.StaffRole.MANAGER)
        totp[email] = _secret()
        TOTP.activate(user, totp[email])
        managers.append(user)
    staff = []
    for n in range(8):
        email = f"staff{n + 1}@{EMAIL_DOMAIN}"
        user = _user(email, f"Staff Member {n + 1}", User.StaffRole.STAFF)
        totp[email] = _secret()
        TOTP.activate(user, totp[email])
        staff.append(user)

    info: dict = {"password": PASSWORD, "clients": {}, "people": people}
    counts = _entry_counts(clients, largest, smallest)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:
        for k in range(clients):
            slug = f"load-{k + 1:02d}"
            name = f"{_NAMES[k % len(_NAMES)]} {'LLC' if k % 2 else 'Inc.'}"
            iors = (_ior(k, 1), _ior(k, 2))
            client = client_create(actor=managers[0], slug=slug, legal_name=name, importer_numbers=iors)
            assigned = staff[k % len(staff)]
            staff_assign(actor=managers[0], client=client, staff=assigned)
            members = []
            with scope(client=client):
                for role, who in (
                    ("client_admin", "admin"),
                    ("client_member", "ap"),
                    ("client_member", "ops"),
                ):
                    email = f"{who}@{slug}.{EMAIL_DOMAIN}"
                    user = _user(email, f"{who.title()} of {name}")
                    Membership.objects.create(client=client, user=user, role=role)
                    members.append((email, role))
                admin = User.objects.get(email=members[0][0])
                reports = []
                total = int(counts[k])
                for first in range(0, total, ENTRIES_PER_REPORT):
                    count = min(ENTRIES_PER_REPORT, total - first)
                    month = first // ENTRIES_PER_REPORT
                    path = Path(tmp) / f"ES003_{slug}_{2025 + month // 12}-{month % 12 + 1:02d}.csv"
                    _write_report(path, k * 100_000 + first, count, iors, seed=k * 1000 + month)
                    with path.open("rb") as handle:
                        report, _ = report_upload(
                            actor=admin, client=client, uploaded=File(handle, name=path.name), enqueue=False
                        )
                    report = report_import(report=report)
                    assert report.status == report.Status.SUCCEEDED, report.message
                    reports.append(
                        {
                            "id": str(report.public_id),
                            "rejected": report.rows_rejected,
                            "bytes": report.size_bytes,
                        }
                    )
                    path.unlink()
                numbers = (
                    Entry.objects.filter(client=client).order_by("?").values_list("entry_number", flat=True)
                )
                sample = [[number, display(number)] for number in numbers[:200]]
                stored = Entry.objects.filter(client=client).count()
            info["clients"][slug] = {
                "name": name,
                "entries": stored,
                "sample": sample,
                "importers": list(iors),
                "reports": reports,
                "staff": assigned.email,
            }
            people += [{"email": email, "role": role, "clients": [slug]} for email, role in members]
            print(
                f"  {slug}: {stored:,} entries from {len(reports)} reports "
                f"({time.perf_counter() - started:.0f} s so far)",
                flush=True,
            )
    for user in staff + managers:
        slugs = [s for s, c in info["clients"].items() if c["staff"] == user.email or user in managers]
        people.append(
            {"email": user.email, "role": user.staff_role, "clients": slugs, "totp": totp[user.email]}
        )
    info["prepared"] = {"clients": clients, "largest": largest, "smallest": smallest}
    return info


def _secret() -> str:
    from allauth.mfa.totp.internal.auth import generate_totp_secret

    return generate_totp_secret()


def sessions_for(info: dict, users: int) -> list[dict]:
    """One person per session, a fifth of them staff (managers first), interleaved with client users."""
    staff = [p for p in info["people"] if p["role"] in ("staff", "staff_manager")]
    staff.sort(key=lambda p: p["role"] != "staff_manager")
    clients = [p for p in info["people"] if p not in staff]
    # Client users: every client's admin first, then their colleagues, so the sessions spread over clients.
    clients.sort(key=lambda p: (p["role"] != "client_admin", p["email"].split("@")[1], p["email"]))
    n_staff = min(len(staff), max(1, round(users / 5)))
    if users - n_staff > len(clients):
        sys.exit(
            f"{users} sessions need more people than the {len(clients) + n_staff} prepared (use --clients)"
        )
    staff_slots = {round(j * users / n_staff) for j in range(n_staff)}
    staff_left, clients_left = iter(staff[:n_staff]), iter(clients[: users - n_staff])
    return [next(staff_left) if i in staff_slots else next(clients_left) for i in range(users)]


# ---- the server -----------------------------------------------------------------------------------


def server_env(redis_url: str) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "brokerage.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "REDIS_URL": redis_url,
            "PRIVATE_STORAGE_ROOT": str(WORK / "storage"),
            "SITE_URL": "https://127.0.0.1",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def start_gunicorn(env: dict, port: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "brokerage.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        str(log.with_name("access.log")),
        "--access-logformat",
        '%(s)s %(m)s "%(U)s" %(M)s',
        # The sessions come from 127.0.0.N, standing in for the proxy that terminates TLS.
        "--forwarded-allow-ips",
        "*",
    ]
    handle = log.open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}: see {log}")
        try:
            # As through the TLS proxy: without it the production settings redirect to https.
            health = urllib.request.Request(
                f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"}
            )
            with urllib.request.urlopen(health, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    sys.exit(f"gunicorn did not answer /healthz within 60 s: see {log}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- one run --------------------------------------------------------------------------------------


def run_once(
    args, locust: Path, env: dict, number: int, *, users: int, spawn_rate: float, duration: int, think: str
) -> dict:
    import redis

    # The cache starts cold in every run (this database number is the benchmark's own), so runs compare.
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    folder = WORK / (f"run{number}" if number else "baseline")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    load_at_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    server = start_gunicorn(env, args.port, args.workers, folder / "gunicorn.log")
    try:
        command = [
            str(locust),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            f"http://127.0.0.1:{args.port}",
            "-u",
            str(users),
            "-r",
            str(spawn_rate),
            "-t",  # a safety limit: the sessions end the run themselves, `duration` s after the last login
            f"{duration + 600}s",
            "--stop-timeout",
            "30",
            "--csv",
            str(folder / "locust"),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        locust_env = dict(
            os.environ,
            LOAD_PEOPLE=str(WORK / "sessions.json"),
            LOAD_THINK=think,
            LOAD_SESSIONS=str(users),
            LOAD_BROWSE_SECONDS=str(duration),
            LOAD_RECORDS=str(folder / "requests.json"),
        )
        started = datetime.now(UTC)
        before = _children_cpu()
        done = subprocess.run(command, cwd=ROOT, env=locust_env, capture_output=True, text=True)
        locust_cpu = _children_cpu() - before  # gunicorn is still running: not reaped, not counted yet
        (folder / "locust.log").write_text(done.stdout + done.stderr)
        load_at_end = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    finally:
        before = _children_cpu()
        stop(server)
    server_cpu = _children_cpu() - before  # the master, with the workers it reaped
    if not (folder / "requests.json").exists():
        sys.exit(
            f"Locust ended without its records (exit {done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
        )
    recorded = json.loads((folder / "requests.json").read_text())
    stats = kinds(recorded["records"], recorded["all_in"], recorded["browse_until"])
    failures = _read_failures(folder / "locust_failures.csv")
    # An exception in a session (not a failed request) is an error too: Locust lists it apart.
    exceptions = _read_failures(folder / "locust_exceptions.csv")
    access = _access_statuses(folder / "access.log")
    server_log = (folder / "gunicorn.log").read_text()
    return {
        "number": number,
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": load_at_start,
        "load_end": load_at_end,
        "locust_exit": done.returncode,
        "stats": stats,
        "failures": failures,
        "exceptions": sum(int(row.get("Count") or 0) for row in exceptions),
        "access": access,
        "tracebacks": server_log.count("Traceback"),
        "worker_timeouts": server_log.count("WORKER TIMEOUT"),
        "locust_cpu": locust_cpu,
        "server_cpu": server_cpu,
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LOGIN_KINDS = ("login: form", "login: password", "login: TOTP code", "static file (whitenoise)")


def kinds(records: list, all_in: float, browse_until: float) -> dict:
    """Requests, errors, exact percentiles and rate per kind: the logins, then the browsing of all sessions."""
    login = [r for r in records if r[0] in LOGIN_KINDS]
    browsing = [r for r in records if r[0] not in LOGIN_KINDS]
    first = min(start for _, start, _, _ in login)
    return {
        "login": _table(login, all_in - first, "All of the login"),
        "browsing": _table(browsing, browse_until - all_in, "Total"),
        "login_seconds": all_in - first,
    }


def _table(records: list, seconds: float, total: str) -> list[dict]:
    groups: dict[str, list] = {}
    for name, _, ms, ok in records:
        groups.setdefault(name, []).append((ms, ok))
    rows = [_figures(name, group, seconds) for name, group in sorted(groups.items())]
    rows.append(_figures(total, [r for group in groups.values() for r in group], seconds))
    return rows


def _figures(name: str, group: list, seconds: float) -> dict:
    times = sorted(ms for ms, _ in group)

    def percentile(p: float) -> float:
        return times[max(0, min(len(times) - 1, round(p / 100 * len(times) + 0.5) - 1))]  # nearest rank

    return {
        "name": name,
        "requests": len(times),
        "errors": sum(1 for _, ok in group if not ok),
        "p50": percentile(50),
        "p95": percentile(95),
        "p99": percentile(99),
        "max": times[-1],
        "rps": len(times) / seconds,
        "seconds": seconds,
    }


def _read_failures(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def _access_statuses(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            status = line.split(" ", 1)[0]
            counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


# ---- the report -----------------------------------------------------------------------------------


def run_table(rows: list[dict], first: str = "Page kind") -> str:
    lines = [
        f"| {first} | Requests | Errors | p50 ms | p95 ms | p99 ms | Max ms | Req/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, row in enumerate(rows):
        name = f"**{row['name']}**" if n == len(rows) - 1 else row["name"]
        lines.append(
            f"| {name} | {row['requests']:,} | {row['errors']:,} | {row['p50']:,.0f} | {row['p95']:,.0f} "
            f"| {row['p99']:,.0f} | {row['max']:,.0f} | {row['rps']:.1f} |"
        )
    return "\n".join(lines)


def summary(run: dict) -> dict:
    """The browsing phase's total, and the errors of the whole run (login included)."""
    total = run["stats"]["browsing"][-1]
    return {
        "requests": total["requests"],
        "errors": total["errors"] + run["stats"]["login"][-1]["errors"] + run["exceptions"],
        "p50": f"{total['p50']:,.0f}",
        "p95": f"{total['p95']:,.0f}",
        "p99": f"{total['p99']:,.0f}",
        "rps": f"{total['rps']:.1f}",
    }


def report(
    args, runs: list[dict], info: dict, facts: list[tuple[str, str]], command: str, baseline: dict | None
) -> str:
    entries = sum(c["entries"] for c in info["clients"].values())
    reports = sum(len(c["reports"]) for c in info["clients"].values())
    sessions = json.loads((WORK / "sessions.json").read_text())["sessions"]
    n_staff = sum(1 for s in sessions if s["role"] in ("staff", "staff_manager"))
    parts = [
        f"{DOC_START}\n### Load run, {runs[0]['started']}\n",
        "\n".join(f"- {k}: {v}" for k, v in facts),
        "",
        "Command:",
        "",
        f"```\n{command}\n```",
        "",
        f"Data: {len(info['clients'])} clients with {entries:,} entries from {reports} imported ES-003 "
        f"reports ({min(c['entries'] for c in info['clients'].values()):,} to "
        f"{max(c['entries'] for c in info['clients'].values()):,} entries a client). "
        f"Sessions: {args.users} ({len(sessions) - n_staff} client users, {n_staff} staff of whom "
        f"{sum(1 for s in sessions if s['role'] == 'staff_manager')} managers), started {args.spawn_rate:g}/s; "
        f"each logs in, waits until all are in, then all browse for {args.duration} s with "
        f"{args.think.replace(',', '–')} s of think time between pages. gunicorn {args.workers} sync workers, "
        f"DEBUG=false, PostgreSQL, Redis cache (cold at the start of each run).",
        "",
    ]
    for run in runs:
        s = summary(run)
        statuses = ", ".join(f"{k}: {v:,}" for k, v in run["access"].items())
        logins = run["stats"]["login"]
        password = next((r for r in logins if r["name"] == "login: password"), logins[-1])
        parts += [
            f"#### Run {run['number']} ({run['started']}; load average at start {run['load_start']}, "
            f"at end {run['load_end']})",
            "",
            f"**{s['errors']} errors.** {args.duration} s of {args.users} logged-in sessions browsing: "
            f"{s['requests']:,} requests, p50 {s['p50']} ms, p95 {s['p95']} ms, p99 {s['p99']} ms, "
            f"{s['rps']} requests/s. Before that, the {args.users} logins took {run['stats']['login_seconds']:.0f} s "
            f"from the first request to the last session in (password step p50 {password['p50']:,.0f} ms, "
            f"p95 {password['p95']:,.0f} ms).",
            "",
            run_table(run["stats"]["browsing"]),
            "",
            run_table(run["stats"]["login"], "Login (each session once)"),
            "",
            f"Server side (gunicorn access log, by status): {statuses}; tracebacks in the server log: "
            f"{run['tracebacks']}; worker timeouts: {run['worker_timeouts']}; exceptions in the sessions: "
            f"{run['exceptions']}. CPU time used in the run: "
            f"gunicorn (workers and master) {run['server_cpu']:.0f} s, Locust {run['locust_cpu']:.0f} s "
            f"(PostgreSQL's is not counted).",
            "",
        ]
        if run["failures"]:
            parts.append("Errors:\n")
            parts += [
                f"- {f['Method']} {f['Name']}: {f['Error']} ({f['Occurrences']})" for f in run["failures"]
            ]
            parts.append("")
    if baseline is not None:
        parts += [
            f"#### Baseline: each page's own time ({baseline['started']}; load average at start "
            f"{baseline['load_start']})",
            "",
            f"Two sessions (a manager, and the admin of the largest client, {_largest(info)}) without think "
            f"time for {args.baseline} s before the runs, on the same server: no request waits for a worker, "
            f"so these are the pages' own times on the machine as loaded that day. "
            f"{summary(baseline)['errors']} errors.",
            "",
            run_table(baseline["stats"]["browsing"]),
            "",
        ]
    parts.append(DOC_END)
    return "\n".join(parts)


def _largest(info: dict) -> str:
    return f"{max(c['entries'] for c in info['clients'].values()):,} entries"


def write_doc(block: str) -> None:
    doc = ROOT / "docs" / "PERFORMANCE.md"
    text = doc.read_text()
    if DOC_START in text and DOC_END in text:
        text = text[: text.index(DOC_START)] + block + text[text.index(DOC_END) + len(DOC_END) :]
    else:
        text = text.rstrip("\n") + f"\n\n{DOC_SECTION}\n\n{block}\n"
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=50, help="concurrent sessions")
    parser.add_argument("--spawn-rate", type=float, default=10, help="sessions started per second")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument("--think", default="1,3", help="think time between pages, min,max seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--runs", type=int, default=1, help="runs, one after the other (reported each)")
    parser.add_argument(
        "--baseline", type=int, default=30, help="seconds of the 2-session baseline before the runs (0: none)"
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--largest", type=int, default=50_000, help="entries of the biggest client")
    parser.add_argument("--smallest", type=int, default=2_000, help="entries of the smallest client")
    parser.add_argument("--reset", action="store_true", help="prepare the data again even if present")
    parser.add_argument("--write-doc", action="store_true", help="write the results into docs/PERFORMANCE.md")
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS)
    redis_url = os.environ["REDIS_URL"]
    import redis

    if redis.Redis.from_url(redis_url).connection_pool.connection_kwargs.get("db", 0) == 0:
        sys.exit("REDIS_URL must name a Redis database of the benchmark's own (not 0): each run empties it")
    WORK.mkdir(parents=True, exist_ok=True)
    locust = ensure_locust()
    pg_version = ensure_database()

    # Preparing runs in this process, like a management command: tasks in-process, no broker needed.
    prep_env = {"DJANGO_SETTINGS_MODULE": "brokerage.settings", "PRIVATE_STORAGE_ROOT": str(WORK / "storage")}
    os.environ.update(prep_env)
    redis_saved = os.environ.pop("REDIS_URL")
    import django

    django.setup()
    os.environ["REDIS_URL"] = redis_saved

    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # the prepared data may predate the code's latest migration
    wanted = {"clients": args.clients, "largest": args.largest, "smallest": args.smallest}
    people_file = WORK / "people.json"
    info = json.loads(people_file.read_text()) if people_file.exists() else None
    if (
        args.reset
        or info is None
        or info.get("prepared") != wanted
        or info.get("database") != os.environ["DATABASE_URL"]
        or not _data_present(info)
    ):
        print(f"Preparing {args.clients} clients in {os.environ['DATABASE_URL']} …", flush=True)
        started = time.perf_counter()
        info = prepare(args.clients, args.largest, args.smallest)
        info["database"] = os.environ["DATABASE_URL"]
        info["prepare_seconds"] = round(time.perf_counter() - started)
        people_file.write_text(json.dumps(info, indent=1))
        print(f"Prepared in {info['prepare_seconds']} s", flush=True)
    else:
        print("Reusing the prepared data (--reset prepares it again).", flush=True)
    (WORK / "sessions.json").write_text(
        json.dumps(
            {
                "password": info["password"],
                "clients": info["clients"],
                "sessions": sessions_for(info, args.users),
            }
        )
    )

    env = server_env(redis_url)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    facts = machine_facts(pg_version)
    runs = []
    baseline = None
    if args.baseline:
        # Two sessions without think time: each page's own time on this machine today, without queueing.
        print(f"Baseline: 2 sessions, no think time, {args.baseline} s …", flush=True)
        baseline = run_once(args, locust, env, 0, users=2, spawn_rate=2, duration=args.baseline, think="0,0")
    for number in range(1, args.runs + 1):
        print(f"Run {number}: {args.users} sessions for {args.duration} s …", flush=True)
        run = run_once(
            args,
            locust,
            env,
            number,
            users=args.users,
            spawn_rate=args.spawn_rate,
            duration=args.duration,
            think=args.think,
        )
        runs.append(run)
        s = summary(run)
        print(
            f"Run {number} (load at start {run['load_start']}): {s['requests']:,} requests, {s['errors']} errors, "
            f"p50 {s['p50']} ms, p95 {s['p95']} ms, p99 {s['p99']} ms, {s['rps']} req/s",
            flush=True,
        )
        if run["locust_exit"] not in (0, 1):
            print((WORK / f"run{number}" / "locust.log").read_text()[-3000:], file=sys.stderr)
    shown = [a for a in sys.argv[1:] if a != "--reset"]
    database = os.environ["DATABASE_URL"]
    command = " ".join(
        ([f"DATABASE_URL={database}"] if database != DEFAULT_URL else [])
        + ([f"REDIS_URL={redis_url}"] if redis_url != DEFAULT_REDIS else [])
        + [".venv/bin/python bench/load.py", *shown]
    )
    block = report(args, runs, info, facts, command, baseline)
    print()
    print(block)
    if args.write_doc:
        write_doc(block)
        print("\nwritten to docs/PERFORMANCE.md")
    if any(summary(run)["errors"] for run in runs + [baseline] if run) or any(
        run["locust_exit"] not in (0, 1) for run in runs
    ):
        sys.exit(1)


def _data_present(info: dict) -> bool:
    """The prepared clients are still in the database and their files in storage."""
    from django_scopes import scopes_disabled

    from clients.models import Client

    with scopes_disabled():
        present = Client.objects.filter(slug__in=list(info["clients"])).count() == len(info["clients"])
    return present and (WORK / "storage").is_dir()


if __name__ == "__main__":
    main()
