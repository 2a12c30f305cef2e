"""Private servers the drills may break: a PostgreSQL cluster under /tmp and an SMTP sink.

The shared PostgreSQL and Redis are never stopped; a drill that restarts a database restarts its own.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socketserver
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

PG_PORT = 5441


class PrivatePostgres:
    """A throwaway cluster (initdb under /tmp, run as the postgres OS user), trust auth, port PG_PORT."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries are not installed (/usr/lib/postgresql/*/bin)")
        self.bin = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="portal-drill-pg-"))
        self.data = self.root / "data"
        owner = pwd.getpwnam("postgres")
        os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self._as_postgres(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )
        self.restarts: list[float] = []

    def _as_postgres(self, tool: str, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.root,
        )

    def start(self) -> None:
        options = f"-p {PG_PORT} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start"
        )

    def restart(self) -> float:
        """A real restart (fast mode: sessions are terminated, open transactions rolled back)."""
        started = time.monotonic()
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")
        self.restarts.append(time.monotonic() - started)
        return self.restarts[-1]

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/{name}"

    def connect(self, name: str, autocommit: bool = True) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=PG_PORT, user="postgres", dbname=name, autocommit=autocommit
        )

    def copy_of(self, settings_db: dict, name: str) -> None:
        """A database here holding what the test database holds now (pg_dump | psql)."""
        with self.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        env = {**os.environ, "PGPASSWORD": settings_db.get("PASSWORD") or ""}
        dump = subprocess.Popen(
            [
                "pg_dump",
                "-h",
                settings_db.get("HOST") or "127.0.0.1",
                "-p",
                str(settings_db.get("PORT") or 5432),
                "-U",
                settings_db.get("USER") or "postgres",
                "--no-owner",
                "--no-privileges",
                settings_db["NAME"],
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-d",
                name,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            check=True,
        )
        dump.stdout.close()
        assert dump.wait() == 0


def private_postgres_or_skip() -> PrivatePostgres:
    reason = None
    if os.geteuid() != 0:
        reason = "a private PostgreSQL cluster is started as the postgres OS user: run as root"
    elif not glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("runuser") is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) or runuser are missing"
    if reason:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    cluster = PrivatePostgres()
    cluster.start()
    return cluster


class SmtpSink:
    """A minimal SMTP server counting what it receives; on_message(n) runs before the n-th is accepted."""

    def __init__(self, on_message=None) -> None:
        self.received: Counter[str] = Counter()
        self.count = 0
        self.on_message = on_message
        self.lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(b"220 drill-sink ESMTP\r\n")
                recipients: list[str] = []
                while line := self.rfile.readline():
                    command = line.decode("ascii", "replace").strip()
                    verb = command.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.wfile.write(b"250 drill-sink\r\n")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                        self.wfile.write(b"250 OK\r\n")
                    elif verb == "DATA":
                        self.wfile.write(b"354 go ahead\r\n")
                        while self.rfile.readline() not in (b".\r\n", b""):
                            pass
                        with sink.lock:
                            sink.count += 1
                            number = sink.count
                        if sink.on_message:
                            sink.on_message(number)
                        with sink.lock:
                            sink.received.update(recipients)
                        recipients = []
                        self.wfile.write(b"250 queued\r\n")
                    elif verb == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:  # MAIL, RSET, NOOP
                        self.wfile.write(b"250 OK\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


REDIS_PORT = 6391


class PrivateRedis:
    """A throwaway redis-server on REDIS_PORT, nobody else's data.

    persistent=True keeps its data over a restart (append-only file, as docker-compose runs Redis);
    otherwise a restart starts empty.
    """

    def __init__(self, directory, *, persistent: bool = False) -> None:
        self.directory = directory
        self.persistent = persistent
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        from tests.conftest import wait_for

        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, timeout=10, interval=0.05, message="the private Redis to start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        assert not self.answers()

    def answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False
