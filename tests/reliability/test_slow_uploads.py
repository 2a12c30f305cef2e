"""Drills: a slow upload through real gunicorn (as ./gunicorn.conf.py runs it) neither fails on the worker
timeout nor keeps /healthz from answering, and a 6 GiB Content-Length is refused before its body is read.

gunicorn runs on a loopback port with ONE worker process and a 5 s worker timeout, the worst case: with
the sync worker class both drills fail (the upload is cut at 5 s, /healthz waits for it).
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import reverse
from django_scopes import scope

from entries.models import EntryReport
from tests.conftest import wait_for
from tests.entries.helpers import SAMPLES
from tests.factories import member
from tests.reliability.helpers import record_figures

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = 5


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(settings, transactional_db, tmp_path):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("REQUIRE_SERVICES=1 but the database is not PostgreSQL")
        pytest.skip("gunicorn shares the test database: PostgreSQL only")
    db = settings.DATABASES["default"]
    port = _free_port()
    spool = tmp_path / "tmp"  # gunicorn's and Django's temporary files (TMPDIR)
    spool.mkdir()
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "brokerage.settings",
            "DATABASE_URL": (
                f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}"
                f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "DEBUG": "true",  # plain HTTP on loopback; the production headers are tested elsewhere
            "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "PRIVATE_STORAGE_ROOT": str(settings.PRIVATE_STORAGE_ROOT),
            "DB_CONN_MAX_AGE": "0",
            "TMPDIR": str(spool),
            "WEB_WORKERS": "1",
            "WEB_THREADS": "4",
            "WEB_TIMEOUT": str(WORKER_TIMEOUT),
        }
    )
    log = tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "brokerage.wsgi", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,  # ./gunicorn.conf.py is read from here, as in the image
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )

    def healthy():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            assert server.poll() is None, log.read_text()
            return False

    wait_for(healthy, timeout=60, interval=0.3, message="gunicorn to answer /healthz")
    server.port, server.spool, server.log_path = port, spool, log
    yield server
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    shutil.rmtree(spool, ignore_errors=True)


class HealthProbe(threading.Thread):
    """Asks /healthz every 0.2 s while a drill runs, and keeps how long each answer took."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.latencies, self.failures, self.done = port, [], 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=10) as response:
                    assert response.status == 200
                self.latencies.append(time.monotonic() - started)
            except Exception:
                self.failures += 1
            time.sleep(0.2)


def _logged_in_cookie(client, user) -> tuple[str, str]:
    client.force_login(user)
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts the secret itself as the form's token
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf}", csrf


def _read_status(sock: socket.socket) -> str:
    sock.settimeout(30)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    return head.decode("latin-1")


def test_slow_upload_outlasts_the_worker_timeout_while_healthz_keeps_answering(client, importer, gunicorn):
    cookie, csrf = _logged_in_cookie(client, member(importer))
    path = reverse("entries:reports", kwargs={"client_slug": importer.slug})
    body = encode_multipart(
        BOUNDARY,
        {"csrfmiddlewaretoken": csrf, "files": [open(SAMPLES / "es003_basic.csv", "rb")]},  # noqa: SIM115
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"Content-Type: {MULTIPART_CONTENT}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()

    probe = HealthProbe(gunicorn.port)
    probe.start()
    pieces = 40
    seconds = 2 * WORKER_TIMEOUT  # twice the worker timeout, which cut a slow upload before
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gunicorn.port)) as sock:
        sock.sendall(head)
        step = len(body) // pieces + 1
        for offset in range(0, len(body), step):
            sock.sendall(body[offset : offset + step])
            time.sleep(seconds / pieces)
        status = _read_status(sock)
    upload_s = time.monotonic() - started
    probe.done.set()
    probe.join(timeout=15)

    assert status.startswith("HTTP/1.1 302"), status + gunicorn.log_path.read_text()[-3000:]
    assert upload_s > 2 * WORKER_TIMEOUT * 0.9
    with scope(client=importer):
        report = EntryReport.objects.get()
        assert report.status == EntryReport.Status.SUCCEEDED, report.message
        assert report.entries_created == 60
    assert probe.failures == 0
    assert len(probe.latencies) >= 20  # answered all along, not only before and after
    assert max(probe.latencies) < 1.0
    record_figures(
        "slow_upload",
        {
            "upload_bytes": len(body),
            "upload_s": round(upload_s, 1),
            "worker_timeout_s": WORKER_TIMEOUT,
            "healthz_answers_during": len(probe.latencies),
            "healthz_max_ms": round(max(probe.latencies) * 1000),
            "healthz_median_ms": round(sorted(probe.latencies)[len(probe.latencies) // 2] * 1000),
        },
    )


def test_huge_content_length_is_refused_before_the_body_is_read(client, importer, gunicorn):
    cookie, csrf = _logged_in_cookie(client, member(importer))
    path = reverse("entries:reports", kwargs={"client_slug": importer.slug})
    declared = 6 * 1024**3  # the probe's 6 GiB, of which only the first 256 KB are ever sent
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"Content-Type: {MULTIPART_CONTENT}\r\nContent-Length: {declared}\r\n\r\n"
    ).encode()
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="huge.csv"\r\n\r\n'
    ).encode() + b"x" * 256 * 1024

    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gunicorn.port)) as sock:
        sock.sendall(head + part)
        status = _read_status(sock)
    answered_s = time.monotonic() - started

    assert status.startswith("HTTP/1.1 413"), status
    assert answered_s < 5
    assert [p for p in gunicorn.spool.rglob("*") if p.is_file()] == []  # nothing spooled
    with scope(client=importer):
        assert not EntryReport.objects.exists()
    record_figures("huge_content_length", {"declared_bytes": declared, "answered_s": round(answered_s, 2)})
