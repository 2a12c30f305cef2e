"""Gunicorn's settings, read from ./gunicorn.conf.py (the working directory of the image and of compose).

The access log redacts the bearer tokens of calendar-feed, invitation, password-reset and email-confirmation
URLs (brokerage/log_redaction.py).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from brokerage.log_redaction import RedactingGunicornLogger  # noqa: E402 (after the path)

logger_class = RedactingGunicornLogger

# Gunicorn, like Django (settings.BEHIND_PROXY), believes X-Forwarded-Proto only behind a declared proxy.
if os.environ.get("BEHIND_PROXY", "false").strip().lower() not in ("true", "1", "yes", "on"):
    secure_scheme_headers = {}

# Slow clients must not starve the portal (issue 14, point 5; docs/RELIABILITY.md, drill 8). A sync worker
# is held for the whole of a request, reading a slow upload included, and is killed after `timeout`
# seconds: a 22.5 MB report sent at 4 Mbit/s failed after 30 s, and three slow uploads held /healthz for
# 29 s. With threads, a slow upload holds one thread; the worker's other threads and the other workers
# keep answering, and the timeout is only the worker's heartbeat, which a thread reading a body does not
# stop. Uploads themselves are bounded by size (brokerage/uploads.py), not by time.
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "3"))
threads = int(os.environ.get("WEB_THREADS", "8"))
timeout = int(os.environ.get("WEB_TIMEOUT", "120"))
