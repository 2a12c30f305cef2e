"""Side-by-side A/B of the staff pages on bench/pages.py's database: median of 10 requests each, one version a run.

    cd <a frozen copy of one version's tree> && DATABASE_URL=postgres://.../portal_bench_pages \
        nice -n 5 .venv/bin/python <path to this file> <label>

Run it alternately from two trees (e.g. `git archive <commit> | tar -x -C /tmp/old`) on the same data: on a
shared machine only back-to-back figures compare. Never run a benchmark from a worktree being rebased: modules
imported late come from the new files. Prints Markdown rows: label, page, median ms, queries, load average.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())  # the version under test: the tree it is run from
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokerage.settings")


def main() -> None:
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from bench.reminders import _with_totp
    from clients.models import User

    try:
        from staff.selectors import deadline_alerts
    except ImportError:  # a version before the staff app
        from entries.dashboard_selectors import deadline_alerts

    label = sys.argv[1]
    for email, who in (("bench-manager@example.com", "manager"), ("bench-staff-0@example.com", "staff")):
        user = User.objects.get(email=email)
        _with_totp(user)
        http = HttpClient()
        http.force_login(user)
        alerts = deadline_alerts(user=user, today=timezone.localdate(), days=30)
        later = f"{alerts.next_after[0]}:{alerts.next_after[1]}"
        for name, path in (
            ("caseload", "/staff/"),
            ("alerts first", "/staff/deadlines/"),
            ("alerts next", f"/staff/deadlines/?after={later}"),
        ):
            assert http.get(path).status_code == 200  # warm-up
            times = []
            for _ in range(10):
                started = time.perf_counter()
                assert http.get(path).status_code == 200
                times.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as queries:
                http.get(path)
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            print(
                f"| {label} | {who} {name} | {statistics.median(times):.0f} | {len(queries)} | {load} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
