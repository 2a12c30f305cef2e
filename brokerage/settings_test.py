"""The test overlay: the real settings, with what makes tests fast and deterministic."""

import tempfile
from pathlib import Path

from .settings import *  # noqa: F403
from .settings import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PRIVATE_STORAGE_ROOT = Path(tempfile.mkdtemp(prefix="portal-test-files-"))
STORAGES = {
    "default": {
        "BACKEND": "brokerage.storage.PrivateFileStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run tasks in-process unless a test starts a real worker (tests/test_celery_worker.py).
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ACCOUNT_RATE_LIMITS = False
TEST_REDIS_URL = REDIS_URL
# The filer codes the tests' entries use (tests/refunds/test_declarations.entry_number) and those of the
# sample reports; tests about other brokers' entries use codes outside this list (e.g. XYZ) or override it.
BROKERAGE_FILER_CODES = ["ABC", "D9P", "NZ6", "PY5", "RV8", "11X", "3JB", "8B7", "UM9"]
