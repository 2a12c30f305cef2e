"""Bearer tokens in URLs never reach a log.

A calendar feed (/feeds/<token>.ics), an invitation (/invite/<token>/), a password reset
(/accounts/password/reset/key/<key>/) and an email confirmation (/accounts/confirm-email/<key>/) are opened
by whoever holds the URL, so the URL is a secret. Access logs, Django's "Not Found: <path>" warnings and
runserver's request lines all print paths (and referrers, and `next=` parameters that carry a path), so:

- every log record this process creates is redacted where it is made (`install`: a log record factory
  installed by Django's logging set-up, `LOGGING_CONFIG` in settings), whatever logger or handler
  writes it: Django's, runserver's, Celery's, ours, and gunicorn's once the app is loaded;
- gunicorn's access log is also redacted by its own logger class (`RedactingGunicornLogger`, set in
  ./gunicorn.conf.py), so nothing depends on the order in which gunicorn and Django set up logging.

Pure: no Django import (gunicorn's config loads it before Django).
"""

from __future__ import annotations

import logging
import logging.config
import re

_SEP = r"(?:/|%2[fF])"  # a path, or a path inside a query string (?next=%2Finvite%2F...)
_TOKEN_URL = re.compile(
    rf"({_SEP}(?:feeds|invite|accounts{_SEP}password{_SEP}reset{_SEP}key|accounts{_SEP}confirm-email){_SEP})"
    r"[^/\s\"'?#&%.;,<>]+"
)
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """The text with the token of every bearer-token URL replaced by [redacted]."""
    if "/" not in text and "%2" not in text:
        return text
    return _TOKEN_URL.sub(rf"\g<1>{REDACTED}", text)


def _redacted(value):
    return redact(value) if isinstance(value, str) else value


_installed = False


def install() -> None:
    """Redact every log record when it is created (once per process)."""
    global _installed
    if _installed:
        return
    base_factory = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = base_factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report, not ours
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def configure_logging(logging_settings: dict) -> None:
    """Django's LOGGING_CONFIG: the usual dictConfig, then the redaction."""
    logging.config.dictConfig(logging_settings)
    install()


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is only needed where it serves the portal
    _GunicornLogger = None

if _GunicornLogger is not None:

    class RedactingGunicornLogger(_GunicornLogger):
        """Gunicorn's logger with every access-log atom (request line, path, query, referrer, headers) redacted."""

        def atoms(self, resp, req, environ, request_time):
            return {
                key: _redacted(value)
                for key, value in super().atoms(resp, req, environ, request_time).items()
            }
