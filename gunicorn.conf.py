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
