"""What the benchmark scripts share: their dedicated database, the machine facts they report, a clean slate."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

# Every client's rows go with the clients (CASCADE), except the entry lines, which carry no foreign key
# (entries migration 0005_lines_without_fk), and the brokerage-wide deadline sums over every client (no
# client of their own; a TRUNCATE fires no delete signal), which must be named.
EMPTY_CLIENTS_SQL = (
    "TRUNCATE clients_client, entries_entryline, entries_brokeragedeadlinefigures, "
    "entries_brokeragedeadlinechange RESTART IDENTITY CASCADE"
)


def ensure_database() -> str:
    """Create DATABASE_URL's database if missing (it must be PostgreSQL and named *bench*); the server version."""
    import dj_database_url
    import psycopg

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database for this benchmark (it is created if missing).")
    config = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = config["NAME"]
    if "postgresql" not in config["ENGINE"] or "bench" not in name:
        sys.exit(
            f"DATABASE_URL must name a dedicated PostgreSQL database whose name contains 'bench', not {name!r}"
        )
    server = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or "postgres",
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
        return conn.execute("SHOW server_version").fetchone()[0]


def machine_facts(pg_version: str) -> list[tuple[str, str]]:
    """The rows of a results section's machine list."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return [
        # The machine may be shared: a busy neighbour shows here and explains a slow run.
        ("Load average at start (1, 5, 15 min)", " ".join(Path("/proc/loadavg").read_text().split()[:3])),
        ("CPU", f"{cpu}, {os.cpu_count()} cores (nproc)"),
        ("Memory", f"{memory_kb / 1024**2:.1f} GiB"),
        ("PostgreSQL", pg_version),
        ("Python", platform.python_version()),
    ]
