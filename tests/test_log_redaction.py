"""Bearer tokens in URLs are redacted in every log the portal writes (issue 14, point 8).

The probe found calendar-feed and invitation tokens in the access log. Checked here on the real output
of real requests: Django's own logging (in-process), runserver, and gunicorn with the repository's
gunicorn.conf.py (each started as the README and compose start them).
"""

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from brokerage.log_redaction import redact

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"GET /feeds/AbC_d-9.ics HTTP/1.1" 200', '"GET /feeds/[redacted].ics HTTP/1.1" 200'),
        ("Not Found: /invite/tok_EN-1/", "Not Found: /invite/[redacted]/"),
        ("GET /invite/tok_EN-1 HTTP/1.1", "GET /invite/[redacted] HTTP/1.1"),
        ("/accounts/password/reset/key/1-abc-def/", "/accounts/password/reset/key/[redacted]/"),
        ("/accounts/confirm-email/MQ:1abc:xyz/", "/accounts/confirm-email/[redacted]/"),
        ("/accounts/login/?next=%2Finvite%2FsecretTok%2F", "/accounts/login/?next=%2Finvite%2F[redacted]%2F"),
        ("https://portal.example/invite/abc/ referrer", "https://portal.example/invite/[redacted]/ referrer"),
        ("GET /c/acme/entries/ HTTP/1.1", "GET /c/acme/entries/ HTTP/1.1"),
        ("GET /reminders/feed/ HTTP/1.1", "GET /reminders/feed/ HTTP/1.1"),
        ("no path at all", "no path at all"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_django_logs_of_a_request_carry_no_token(client, db, caplog):
    token = secrets.token_urlsafe(32)
    with caplog.at_level(logging.INFO):
        response = client.get(f"/feeds/{token}.ics")
    assert response.status_code == 404
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Not Found: /feeds/[redacted].ics" in logged
    assert token not in logged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_and_log(command: list[str], port: int, tmp_path: Path) -> str:
    """Start a server, make the token-bearing requests, stop it; its whole log output."""
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PRIVATE_STORAGE_ROOT": str(tmp_path / "private"),
        "DJANGO_SETTINGS_MODULE": "brokerage.settings",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError(log.read_text()) from None
                    time.sleep(0.3)
            for path, referer in _REQUESTS:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers={"Referer": referer}
                )
                try:
                    urllib.request.urlopen(request, timeout=30).read()
                except urllib.error.HTTPError:
                    pass  # 404 or 500 (an empty database): only the log matters here
            time.sleep(1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return log.read_text()


FEED, INVITE, REFERRED = (secrets.token_urlsafe(32) for _ in range(3))
_REQUESTS = [
    (f"/feeds/{FEED}.ics", "-"),
    (f"/invite/{INVITE}/", f"http://127.0.0.1/invite/{REFERRED}/"),
]


def _assert_redacted(output: str):
    for token in (FEED, INVITE, REFERRED):
        assert token not in output, f"a token reached the log:\n{output}"
    assert "/feeds/[redacted].ics" in output, output  # the request was logged, redacted
    assert "/invite/[redacted]/" in output, output


def test_runserver_log_carries_no_token(tmp_path):
    port = _free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
    _assert_redacted(_serve_and_log(command, port, tmp_path))


def test_gunicorn_access_log_carries_no_token(tmp_path):
    port = _free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    # As compose and the Dockerfile start it (./gunicorn.conf.py is read from the working directory).
    command = [
        gunicorn,
        "brokerage.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--access-logfile",
        "-",
    ]
    command += ["--access-logformat", '%(h)s "%(r)s" %(s)s "%(f)s" %(U)s %(q)s']
    output = _serve_and_log(command, port, tmp_path)
    _assert_redacted(output)
    assert '"http://127.0.0.1/invite/[redacted]/"' in output  # the referrer, redacted too
