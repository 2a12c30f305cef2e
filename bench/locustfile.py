"""Locust sessions for bench/load.py: people who log in and browse the portal (run by bench/load.py).

Each session is one person of the prepared data (LOAD_PEOPLE: the sessions file bench/load.py writes),
logged in through the real login form, and for staff the TOTP step with a code computed here. It comes
from its own loopback address (127.0.0.N), as people come from their own addresses: allauth limits
logins per address. The server runs with production settings behind an imagined TLS proxy: requests
carry X-Forwarded-Proto: https and the session sends its Secure cookies over the loopback connection.

Every response is checked for what the person expects: the status (2xx; 404 for the tenancy probe), no
redirect to the login page or elsewhere, the content type, and for downloads an attachment with the
expected first line. Anything else is a failure, reported by Locust as an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import itertools
import json
import os
import random
import re
import struct
import time
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlsplit

import gevent.event
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from requests.adapters import HTTPAdapter

DATA = json.loads(Path(os.environ["LOAD_PEOPLE"]).read_text())
THINK = tuple(float(v) for v in os.environ.get("LOAD_THINK", "1,3").split(","))
_session_numbers = itertools.count()
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_STATIC = re.compile(r'(?:href|src)="(/static/[^"]+)"')
_PATHS = (
    "cape_phase1",
    "cape_phase2",
    "protest",
    "section_122",
    "excluded",
    "not_affected",
    "finally_liquidated",
)
_WINDOWS = ("7", "30", "60", "90", "past")
EXPORT_HEADER = "entry_number"  # the entries export's first column


_records: list[tuple[str, float, float, bool]] = []


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    """Every request with its own time: bench/load.py computes exact percentiles from these."""
    _records.append((name, time.time() - response_time / 1000, response_time, exception is None))


@events.quitting.add_listener
def _write_records(environment, **kwargs):
    if os.environ.get("LOAD_RECORDS"):
        Path(os.environ["LOAD_RECORDS"]).write_text(json.dumps({"records": _records, **_phase}))


# The measured phase: every session logs in, waits until all are in, then all browse together for
# LOAD_BROWSE_SECONDS and stop; the last one to stop ends the run.
SESSIONS = int(os.environ.get("LOAD_SESSIONS", "1"))
BROWSE_SECONDS = float(os.environ.get("LOAD_BROWSE_SECONDS", "60"))
_all_in = gevent.event.Event()
_phase: dict[str, float] = {}
_counts = {"in": 0, "done": 0}


def _arrived() -> None:
    _counts["in"] += 1
    if _counts["in"] == SESSIONS:
        _phase["all_in"] = time.time()
        _phase["browse_until"] = _phase["all_in"] + BROWSE_SECONDS
        _all_in.set()


def totp_code(secret: str) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), as an authenticator app shows it."""
    if 30 - time.time() % 30 < 2:  # a person about to type a code that is expiring waits for the next
        time.sleep(30 - time.time() % 30 + 0.2)
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def _secure_cookies_over_loopback(policy, cookie, request) -> bool:
    """The portal's cookies are Secure (production settings); TLS ends in the proxy before loopback."""
    return True


# Class-wide: requests copies the session's cookies into a fresh jar (default policy) for every request
# and redirect, so a policy set on the session's jar alone would not be used. This process only runs
# these sessions.
DefaultCookiePolicy.return_ok_secure = _secure_cookies_over_loopback


class FromAddress(HTTPAdapter):
    """Connections from one loopback address (127.0.0.0/8 is all loopback on Linux)."""

    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        pool_kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)


class Person(HttpUser):
    wait_time = between(*THINK)

    def on_start(self):
        number = next(_session_numbers)
        self.person = DATA["sessions"][number % len(DATA["sessions"])]
        self.is_staff = self.person["role"] in ("staff", "staff_manager")
        self.client.mount("http://", FromAddress(f"127.0.0.{10 + number % 240}"))
        self.client.headers.update({"X-Forwarded-Proto": "https", "User-Agent": "bench/load.py"})
        self.origin = "https://" + urlsplit(self.host).netloc
        mine = set(self.person["clients"])
        self.others = [slug for slug in DATA["clients"] if slug not in mine]
        actions = [
            (self.entry_list, 5),
            (self.entry_list_filtered, 4),
            (self.entry_search, 2),
            (self.entry_detail, 4),
            (self.overview, 3),
            (self.reports, 1),
            (self.report_detail, 1),
            (self.download_export_filtered, 1),
            (self.download_report_file, 1),
            (self.download_errors, 1),
            (self.download_export_all, 0.2),
            (self.other_client, 0.5),
        ]
        if self.is_staff:
            actions += [(self.caseload, 6), (self.deadline_alerts, 4)]
        self.actions, self.weights = zip(*actions, strict=True)
        try:
            self.login()
        finally:
            _arrived()  # a failed login is an error in the figures, and must not hold the others back
        _all_in.wait()

    # ---- checks ---------------------------------------------------------------------------------

    def check(
        self,
        name: str,
        path: str,
        *,
        params=None,
        status=200,
        kind="text/html",
        text=None,
        to=None,
        verify=None,
    ):
        """GET a page and fail the request on anything the person would not expect to see."""
        with self.client.get(path, params=params, name=name, catch_response=True) as response:
            problem = self.problem(response, status=status, kind=kind, text=text, to=to or path)
            if problem is None and verify is not None:
                problem = verify(response)
            if problem:
                response.failure(problem)
            else:
                response.success()
            return response

    def problem(self, response, *, status, kind, text, to) -> str | None:
        if response.status_code != status:
            return f"status {response.status_code} (expected {status})"
        landed = urlsplit(response.url).path
        if landed != to:
            return f"landed on {landed} (expected {to})"
        if status != 200:
            return None
        if not response.headers.get("Content-Type", "").startswith(kind):
            return f"content type {response.headers.get('Content-Type')} (expected {kind})"
        if kind != "text/html":
            if "attachment" not in response.headers.get("Content-Disposition", ""):
                return "not an attachment"
            if not response.content:
                return "empty download"
        if text is not None and text not in response.text:
            return f"{text!r} missing"
        return None

    def post(self, name: str, path: str, data: dict, *, to: str):
        headers = {"Referer": self.origin + path, "Origin": self.origin}
        with self.client.post(path, data=data, headers=headers, name=name, catch_response=True) as response:
            problem = self.problem(response, status=200, kind="text/html", text=None, to=to)
            if problem:
                response.failure(problem)
            else:
                response.success()
            return response

    # ---- login ----------------------------------------------------------------------------------

    def login(self):
        form = self.check("login: form", "/accounts/login/", text='name="password"')
        for asset in sorted(set(_STATIC.findall(form.text))):
            with self.client.get(asset, name="static file (whitenoise)", catch_response=True) as response:
                if response.status_code != 200 or not response.content:
                    response.failure(f"status {response.status_code}")
        home = "/staff/" if self.is_staff else f"/c/{self.person['clients'][0]}/"
        credentials = {
            "login": self.person["email"],
            "password": DATA["password"],
            "csrfmiddlewaretoken": _token(form.text),
        }
        if not self.is_staff:
            self.post("login: password", "/accounts/login/", credentials, to=home)
            return
        second = self.post(
            "login: password", "/accounts/login/", credentials, to="/accounts/2fa/authenticate/"
        )
        code = {"code": totp_code(self.person["totp"]), "csrfmiddlewaretoken": _token(second.text)}
        self.post("login: TOTP code", "/accounts/2fa/authenticate/", code, to=home)

    # ---- what people do -------------------------------------------------------------------------

    @task
    def browse(self):
        if time.time() >= _phase["browse_until"]:
            _counts["done"] += 1
            if _counts["done"] == SESSIONS:
                gevent.spawn_later(0.1, self.environment.runner.quit)
            raise StopUser
        random.choices(self.actions, self.weights)[0]()

    def client_slug(self) -> str:
        return random.choice(self.person["clients"])

    def entry_list(self):
        slug = self.client_slug()
        pages = max(1, -(-DATA["clients"][slug]["entries"] // 50))
        page = random.choice((1, 1, 1, 2, 3, random.randint(1, min(pages, 40))))
        self.check("entry list", f"/c/{slug}/entries/", params={"page": page} if page > 1 else None)

    def _filters(self, slug: str) -> dict:
        params = {}
        while not params:
            if random.random() < 0.5:
                params["path"] = random.choice(_PATHS)
            if random.random() < 0.5:
                params["window"] = random.choice(_WINDOWS)
            if random.random() < 0.3:
                params["importer"] = random.choice(DATA["clients"][slug]["importers"])
            if random.random() < 0.2:
                number, _ = random.choice(DATA["clients"][slug]["sample"])
                params["q"] = number[3:8]  # part of the serial, as someone half-remembering it
        return params

    def entry_list_filtered(self):
        slug = self.client_slug()
        self.check("entry list, filtered", f"/c/{slug}/entries/", params=self._filters(slug))

    def entry_search(self):
        slug = self.client_slug()
        number, shown = random.choice(DATA["clients"][slug]["sample"])
        self.check("entry list, search by number", f"/c/{slug}/entries/", params={"q": number}, text=shown)

    def entry_detail(self):
        slug = self.client_slug()
        number, shown = random.choice(DATA["clients"][slug]["sample"])
        self.check("entry detail", f"/c/{slug}/entries/{number}/", text=shown)

    def overview(self):
        slug = self.client_slug()
        self.check("client overview", f"/c/{slug}/", text=html.escape(DATA["clients"][slug]["name"]))

    def reports(self):
        self.check("reports", f"/c/{self.client_slug()}/reports/")

    def report_detail(self):
        slug = self.client_slug()
        report = random.choice(DATA["clients"][slug]["reports"])
        self.check("report detail", f"/c/{slug}/reports/{report['id']}/")

    def download_export_filtered(self):
        slug = self.client_slug()
        params = {**self._filters(slug), "export": "csv"}
        self.download("download: entries CSV, filtered", f"/c/{slug}/entries/", params)

    def download_export_all(self):
        slug = self.client_slug()
        self.download("download: entries CSV, all entries", f"/c/{slug}/entries/", {"export": "csv"})

    def download(self, name: str, path: str, params: dict):
        def starts_with_header(response):
            return (
                None
                if response.text.startswith(EXPORT_HEADER)
                else "the export does not start with its header"
            )

        self.check(name, path, params=params, kind="text/csv", verify=starts_with_header)

    def download_report_file(self):
        slug = self.client_slug()
        report = random.choice(DATA["clients"][slug]["reports"])

        def same_size(response):
            if len(response.content) != report["bytes"]:
                return f"{len(response.content)} bytes, the upload had {report['bytes']}"
            return None

        path = f"/c/{slug}/reports/{report['id']}/file/"
        self.check("download: uploaded report file", path, kind="text/csv", verify=same_size)

    def download_errors(self):
        slug = self.client_slug()
        report = random.choice([r for r in DATA["clients"][slug]["reports"] if r["rejected"]])

        def every_rejection(response):
            rows = len(response.text.splitlines()) - 1
            return None if rows == report["rejected"] else f"{rows} error rows, expected {report['rejected']}"

        path = f"/c/{slug}/reports/{report['id']}/errors.csv"
        self.check("download: error report CSV", path, kind="text/csv", verify=every_rejection)

    def other_client(self):
        """Tenancy under load: another client's page answers 404 (managers see every client: skipped)."""
        if not self.others:
            return self.overview()
        slug = random.choice(self.others)
        self.check("another client's page (404 expected)", f"/c/{slug}/entries/", status=404)

    def caseload(self):
        params = random.choice(
            (
                None,
                None,
                {"sort": random.choice(("deadline", "at_risk", "refundable", "name"))},
                {"q": "Imports"},
            )
        )
        self.check("staff caseload dashboard", "/staff/", params=params)

    def deadline_alerts(self):
        days = random.choice(("30", "30", "7", "90"))
        self.check(
            "staff deadline alerts", "/staff/deadlines/", params=None if days == "30" else {"days": days}
        )


def _token(html: str) -> str:
    match = _CSRF.search(html)
    return match.group(1) if match else ""
