"""The one settings module, read from the environment.

With nothing set it runs the embedded development default: SQLite, Celery tasks executed in-process,
email printed to the console. Production (DEBUG=false) refuses to start without SECRET_KEY.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A string setting; NAME_FILE (a path, e.g. a Docker secret) wins over NAME."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str) -> bool:
    value = env(name, default).strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = env(name, str(default))
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "true")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
BROKERAGE_NAME = env("BROKERAGE_NAME", "Harbor Line Customs Brokerage")
# The agent's part of a protest (19 CFR 174.13(a)(1)-(2)): the brokerage's address and its own importer number
# (or CBP-assigned number); "|" separates the address lines.
BROKERAGE_ADDRESS = env("BROKERAGE_ADDRESS", "1 Harbor Way|Newark, NJ 07114").replace("|", "\n")
BROKERAGE_IMPORTER_NUMBER = env("BROKERAGE_IMPORTER_NUMBER", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "import_export",
    "clients",
    "entries",
    "refunds",
    "protests",
    "staff",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any process_view (CSRF's reads the body): refuses an over-large upload unread.
    "brokerage.uploads.UploadLimitMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "brokerage.middleware.SecurityHeadersMiddleware",
    "clients.tenancy.StaffMFARequiredMiddleware",
    "clients.tenancy.ClientScopeMiddleware",
]

ROOT_URLCONF = "brokerage.urls"
WSGI_APPLICATION = "brokerage.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clients.context_processors.portal",
            ],
            # Labels, dashed entry numbers, dotted HTS numbers, plurals: on every page and email.
            "builtins": ["clients.templatetags.words"],
        },
    },
]

# --- Data stores ---------------------------------------------------------------------------------
if not env("DATABASE_URL"):
    (BASE_DIR / "var").mkdir(exist_ok=True)  # the embedded default database lives in ./var
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# kombu's Redis transport with one fix, so that a worker survives a Redis restart in the middle of a task
# (brokerage/broker.py; docs/RELIABILITY.md, drill 6).
CELERY_BROKER_TRANSPORT = "brokerage.broker:Transport" if CELERY_BROKER_URL.startswith("redis://") else None
# A task running when the broker connection drops keeps running (Celery's default, chosen here on purpose;
# Celery still logs a warning about it): cancelling it would restart every import on each Redis blip. Its
# acknowledgement goes over a fresh connection (brokerage/broker.py) or, Redis still down, the message is
# handed out again, and the import's lease and finished status make that copy a no-op.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_RESULT_BACKEND = None
# Without a broker the embedded default runs tasks in-process, so the portal works with nothing set up.
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "false" if REDIS_URL else "true")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A pool process whose resident memory grew past this many MB is replaced once its task ends (prefork
# pool), so that one huge report does not leave a worker holding a gigabyte (docs/RELIABILITY.md).
WORKER_MAX_MEMORY_MB = envint("WORKER_MAX_MEMORY_MB", 512)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = WORKER_MAX_MEMORY_MB * 1024  # Celery counts in KiB
# How many times an import may start before it is failed for good: a run that dies (its process killed
# for memory, a crash) gets the message delivered again, and without a bound that never ends.
IMPORT_MAX_ATTEMPTS = envint("IMPORT_MAX_ATTEMPTS", 3)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The queue tasks go to (and workers started without -Q consume): several deployments may share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
# Each kind of work has its own queue, so that a 10-million-line import never holds up a letter a client is
# waiting for: run a worker per queue (README, "Workers and queues"). Tasks not listed go to the default
# queue. CELERY_QUEUE_PREFIX is put before each name (several deployments, or tests, on one Redis).
QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX")
TASK_QUEUES = {
    "imports": [
        "entries.tasks.import_entry_report",
        "entries.tasks.route_broker_report",
        "refunds.tasks.reconcile_cbp_report",
        "protests.tasks.apply_protest_decision_list",
    ],
    "letters": [
        "clients.letters_tasks.render_letter",
        "clients.letters_tasks.render_letter_batch",
        "clients.tasks.build_audit_export",
        "protests.tasks.render_protest_document",
    ],
    "reminders": [
        "entries.tasks.send_deadline_reminders",
        "clients.onboarding_tasks.send_due_code_window_reminders",
        "clients.onboarding_tasks.send_code_window_reminder",
        "clients.onboarding_tasks.send_stale_onboarding_digests",
    ],
    "nightly": [
        "entries.tasks.reclassify_all_clients",
        "entries.tasks.reclassify_after_registry_change",
        "entries.tasks.sweep_queued_reports",
        "entries.tasks.fold_brokerage_figures",
        "protests.tasks.deem_denied_protests",
    ],
}
CELERY_TASK_ROUTES = ("brokerage.celery.route_task",)
# On Redis a message whose worker died without acking it (SIGKILL, OOM, a lost machine) is delivered again
# only once it has been unacked for the visibility timeout. It must exceed the longest task run and the
# longest retry countdown, or a message still being worked on is delivered a second time (the import's
# lease makes that harmless, but the other tasks would run twice). Workers look for such messages every
# unacked_restore_interval seconds (x throttle); short timeouts (the reliability drills) look every second.
BROKER_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", 60 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": BROKER_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 1 if BROKER_VISIBILITY_TIMEOUT < 120 else 10,
    "unacked_restore_throttle": 1 if BROKER_VISIBILITY_TIMEOUT < 120 else 10,
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "brokerage.beat:Scheduler"
# Daily jobs (run by `celery -A brokerage beat`). Times are UTC: 06:00 UTC is early morning in US ports.
CELERY_BEAT_SCHEDULE = {
    "reclassify-entries-daily": {
        "task": "entries.tasks.reclassify_all_clients",
        "schedule": crontab(hour=6, minute=0),
    },
    # Run by beat itself, not sent to a worker (brokerage/beat.py).
    "sweep-queued-reports": {
        "task": "entries.tasks.sweep_queued_reports",
        "schedule": envint("REPORT_SWEEP_SECONDS", 5 * 60),
    },
    # The manager's caseload reads brokerage-wide deadline sums plus the changes not yet folded into them:
    # folding every few minutes keeps that read to a few hundred rows (entries.figures).
    "fold-brokerage-figures": {
        "task": "entries.tasks.fold_brokerage_figures",
        "schedule": 5 * 60,
    },
    # Protests whose accelerated disposition went unanswered 30 days are deemed denied (their court deadline
    # starts), before the re-classification and the reminders read the entries' deadlines.
    "deem-denied-protests-daily": {
        "task": "protests.tasks.deem_denied_protests",
        "schedule": crontab(hour=5, minute=45),
    },
    # Onboarding: the daily digest of stale checklist items (12:00 UTC is morning in every US time zone;
    # one email per person per day however often it runs), and reminders shortly before code windows.
    "onboarding-stale-digest-daily": {
        "task": "clients.onboarding_tasks.send_stale_onboarding_digests",
        "schedule": crontab(hour=12, minute=0),
    },
    "onboarding-code-window-reminders": {
        "task": "clients.onboarding_tasks.send_due_code_window_reminders",
        "schedule": 5 * 60,
    },
    # Deadline reminders (issue 7): after the daily re-classification has moved paths and deadlines.
    "deadline-reminders-daily": {
        "task": "entries.tasks.send_deadline_reminders",
        "schedule": crontab(hour=12, minute=30),
    },
}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Client files (uploads, letters, exports, CBP reports, evidence) live outside the static and public tree
# and have no URL; they are served only by views that check the client scope (brokerage/storage.py).
# The embedded default keeps them on the local disk; with STORAGE_S3_BUCKET set they go to an
# S3-compatible object store, so that web servers and workers on other machines share them.
PRIVATE_STORAGE_ROOT = Path(env("PRIVATE_STORAGE_ROOT", str(BASE_DIR / "var" / "private")))
STORAGE_S3_BUCKET = env("STORAGE_S3_BUCKET")


def s3_storage_options(
    *,
    bucket: str,
    endpoint_url: str = "",
    region: str = "",
    encryption: str = "AES256",
    kms_key_id: str = "",
    access_key: str = "",
    secret_key: str = "",
) -> dict:
    """The PrivateS3Storage options (also used by the tests that run against a real S3 server)."""
    if encryption not in ("AES256", "aws:kms", "none"):
        raise ImproperlyConfigured(
            f"STORAGE_S3_ENCRYPTION must be AES256, aws:kms or none, not {encryption!r}"
        )
    parameters = {} if encryption == "none" else {"ServerSideEncryption": encryption}
    if encryption == "aws:kms" and kms_key_id:
        parameters["SSEKMSKeyId"] = kms_key_id
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url or None,
        "region_name": region or None,
        # Without keys boto3 finds credentials itself (an instance or task role).
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        # A self-hosted store (MinIO) answers at one host name, not one per bucket.
        "addressing_style": "path" if endpoint_url else None,
        "object_parameters": parameters,
    }


if STORAGE_S3_BUCKET:
    _private_storage = {
        "BACKEND": "brokerage.storage.PrivateS3Storage",
        "OPTIONS": s3_storage_options(
            bucket=STORAGE_S3_BUCKET,
            endpoint_url=env("STORAGE_S3_ENDPOINT_URL"),
            region=env("STORAGE_S3_REGION"),
            encryption=env("STORAGE_S3_ENCRYPTION", "AES256"),
            kms_key_id=env("STORAGE_S3_KMS_KEY_ID"),
            access_key=env("STORAGE_S3_ACCESS_KEY_ID"),
            secret_key=env("STORAGE_S3_SECRET_ACCESS_KEY"),
        ),
    }
else:
    _private_storage = {
        "BACKEND": "brokerage.storage.PrivateFileStorage",
        "OPTIONS": {"location": str(PRIVATE_STORAGE_ROOT)},
    }
STORAGES = {
    "default": _private_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development whitenoise serves straight from the source folders; production serves collectstatic's output.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
# Client files are the service user's alone: 0600 files in 0700 folders (the private storage and uploads).
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 200 * 1024 * 1024)  # per file
# All the files of one upload together; a request declaring more is refused before its body is read, and
# both limits are counted as the bytes arrive (brokerage/uploads.py).
UPLOAD_REQUEST_MAX_BYTES = envint("UPLOAD_REQUEST_MAX_BYTES", 2 * UPLOAD_MAX_BYTES)
FILE_UPLOAD_HANDLERS = [
    "brokerage.uploads.UploadLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# django-import-export's admin actions check the same rights as the page they sit on: exporting needs the
# right to view the list, importing the right to change it (clients/admin.py narrows imports further).
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "change"
# Whether client admins may build CAPE declarations and record their filing themselves (staff always may).
CAPE_CLIENT_ADMINS_MAY_BUILD = envbool("CAPE_CLIENT_ADMINS_MAY_BUILD", "false")
# Whether client admins may build protest drafts and record their filing themselves (staff always may).
PROTESTS_CLIENT_ADMINS_MAY_BUILD = envbool("PROTESTS_CLIENT_ADMINS_MAY_BUILD", "false")
# The brokerage's filer codes (the first three characters of the entry numbers it files), comma-separated.
# A declaration the broker files holds only these (CBP fails a whole file for one other code); the client's
# entries filed by other brokers go into the importer's own file. Unset: the broker declares nothing.
BROKERAGE_FILER_CODES = sorted({code.upper() for code in envlist("BROKERAGE_FILER_CODES")})
for _code in BROKERAGE_FILER_CODES:
    if len(_code) != 3 or not (_code.isascii() and _code.isalnum()):
        raise ImproperlyConfigured(f"BROKERAGE_FILER_CODES: {_code!r} is not a 3-character filer code")

# --- Users and login -----------------------------------------------------------------------------
AUTH_USER_MODEL = "clients.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "clients.adapters.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{BROKERAGE_NAME}] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Two-factor secrets are encrypted at rest (clients.adapters.PortalMFAAdapter, brokerage/encryption.py).
# MFA_ENCRYPTION_KEY: one or more long random values, comma-separated (the first encrypts; all decrypt).
MFA_ADAPTER = "clients.adapters.PortalMFAAdapter"
MFA_ENCRYPTION_KEYS = envlist("MFA_ENCRYPTION_KEY")
if not MFA_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("MFA_ENCRYPTION_KEY must be set when DEBUG is false")
    MFA_ENCRYPTION_KEYS = ["development-only, derived from SECRET_KEY: " + SECRET_KEY]
if not DEBUG and any(len(key) < 32 for key in MFA_ENCRYPTION_KEYS):
    raise ImproperlyConfigured("MFA_ENCRYPTION_KEY: use at least 32 random characters")
MFA_TOTP_ISSUER = BROKERAGE_NAME
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
INVITATION_VALID_DAYS = envint("INVITATION_VALID_DAYS", 14)

# --- Email ---------------------------------------------------------------------------------------
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "portal@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security ------------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere in the portal: scripts and styles are files served by the app, and
# nothing is loaded from another origin (the portal works offline). data: images are Bootstrap's icons
# and the TOTP QR code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURE_CONTENT_TYPE_NOSNIFF = True
# X-Forwarded-Proto says whether the visitor used HTTPS, but anyone can send it: it is trusted only when the
# portal runs behind a proxy that sets it (and strips the visitor's own), which BEHIND_PROXY=true declares.
BEHIND_PROXY = envbool("BEHIND_PROXY", "false")
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True

# --- Internationalisation ------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# Bearer-token URLs (calendar feeds, invitations, password resets) are redacted in every log record.
LOGGING_CONFIG = "brokerage.log_redaction.configure_logging"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint.progress": {"level": "WARNING"},  # one INFO line per rendering step of every PDF
    },
}
