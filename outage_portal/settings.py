"""Settings for the outage portal, read from environment variables (see README "Configuration").

Development defaults need no services: SQLite under var/ and kombu's filesystem broker.
Production sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, HTTPS=1 and DEBUG=0.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from outage_portal.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR") or str(BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY a development key is used; its "django-insecure-" prefix makes
# `manage.py check --deploy` fail loudly, so it never reaches production unnoticed.
SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-development-only-key-0f3c9a7e5b1d2c4e6a8b0d2f4a6c8e0b"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Absolute address of the portal, for links in emails, webhooks and feeds.
SITE_URL = (env_str("SITE_URL") or "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # Django's own form templates, under the project's templates/django/forms/
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc as our own static files: the API docs work offline
    "django_celery_beat",
    "simple_history",
    "axes",
    "bootstrap",  # django-bootstrap-static: Bootstrap's CSS/JS from PyPI
    "outage_portal",
    "notices",
    "invoices",
    "recovery",
    "response",
]
# The demo app (demo/: `load_demo`, the tax-system simulator and its commands) is in unless DEMO=0,
# which a production portal sets: nothing else depends on it, and its commands are then not offered.
DEMO = env_bool("DEMO", True)
if DEMO:
    INSTALLED_APPS.append("demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "outage_portal.middleware.SessionIdleTimeoutMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "outage_portal.urls"
WSGI_APPLICATION = "outage_portal.wsgi.application"
AUTH_USER_MODEL = "outage_portal.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "outage_portal.context_processors.navigation",
                "response.context_processors.invoicing_paused",
            ],
        },
    },
]

# Every form field renders one way: the project's templates/django/forms/ and Bootstrap classes by
# widget type, decided in outage_portal.form_rendering.
FORM_RENDERER = "outage_portal.form_rendering.FormRenderer"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
except Exception as exc:  # dj_database_url raises bare ValueError/KeyError on nonsense
    raise ImproperlyConfigured(f"DATABASE_URL={DATABASE_URL!r} cannot be parsed: {exc}") from exc
IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if IS_SQLITE:
    # A file, not :memory:, so a Celery worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # SQLite keeps a covering index's key columns only (invoices' `invoice_period`): what PostgreSQL
    # reads from the included ones, SQLite reads from the rows, which at its sizes is as good.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL") or ""
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Auth and security ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_VERBOSE = False
# Lock a username at one client address after this many wrong passwords in a row, for the cool-off.
# Username and address together: behind a proxy one attacker must not lock everybody out, and a
# wrong-password spree on one account from one address must not lock that account everywhere.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "outage_portal.client_ip.client_ip"
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1")
# A signed-in session idle for this many minutes is signed out (0: never). Activity slides it.
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 60)
if SESSION_IDLE_TIMEOUT_MINUTES < 0:
    raise ImproperlyConfigured("SESSION_IDLE_TIMEOUT_MINUTES must be 0 (off) or more minutes")
SESSION_IDLE_TIMEOUT = SESSION_IDLE_TIMEOUT_MINUTES * 60

# HTTPS=1 when the portal is served over TLS (directly or behind a proxy setting X-Forwarded-Proto).
HTTPS = env_bool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# BEHIND_PROXY=1: every request comes through a reverse proxy that sets X-Forwarded-Proto and appends
# the address it was connected from to X-Forwarded-For. PROXY_COUNT proxies in a row (default 1);
# TRUSTED_PROXIES (addresses or networks) limits whose X-Forwarded-For is believed, when the portal
# can also be reached directly.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
PROXY_COUNT = env_int("PROXY_COUNT", 1)
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
if PROXY_COUNT < 1:
    raise ImproperlyConfigured("PROXY_COUNT must be at least 1")
for _network in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_network!r} is not an address or network") from exc
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles and everything else from our own origin only.
# No inline script, no inline style attribute or <style> block; page scripts live in static/js/.
# Bootstrap and Swagger UI (drf-spectacular-sidecar) set styles from script (the CSSOM, which CSP
# allows); their CSS embeds small SVG images as data: URIs, hence img-src data:.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# An upload larger than this is written to a temporary file as it arrives, never held in memory; the
# services copy it to storage a chunk at a time.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# At most this many files in one request (evidence uploads); more get a page saying so.
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("DATA_UPLOAD_MAX_NUMBER_FILES", 20)
# The largest file a person may upload (imports, evidence); larger ones are refused with a message.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
FORMAT_MODULE_PATH = ["outage_portal.formats"]  # amounts grouped by thousands in Chinese too
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and private files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# Uploaded originals and evidence are private: never under a public URL, served only by views
# that check company membership.
PRIVATE_STORAGE_ROOT = VAR_DIR / "private"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(PRIVATE_STORAGE_ROOT),
            "base_url": "/private-not-served/",
        },
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST") or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL") or "税务系统停机与发票恢复平台 <noreply@localhost>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the API is documented by its Swagger page (/api/docs/). DRF's browsable pages rely on
    # inline scripts and styles the Content-Security-Policy refuses; developers get them with DEBUG on.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PAGINATION_CLASS": "outage_portal.rest.Pagination",
    "DEFAULT_FILTER_BACKENDS": ["outage_portal.rest.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "outage_portal.rest.exception_handler",
    "PAGE_SIZE": 50,
}
# The API schema and its Swagger page need a sign-in unless this is on (a portal whose API is public).
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "Tax-system outage and invoice-recovery portal API",
    "DESCRIPTION": "Tax-system status, maintenance notices, invoice records, reconciliation and reissue requests.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["outage_portal.rest.ApiDocsAccess"],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files, never a CDN (offline, and
    # reachable in mainland China).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "status" with different choices; name each enum after its model's choices.
    "ENUM_NAME_OVERRIDES": {
        "InvoiceStatusEnum": "invoices.models.InvoiceStatus",
        "GapStatusEnum": "recovery.models.GapStatus",
        # notices
        "NoticeStateEnum": "notices.models.NoticeState",
        "IncidentStateEnum": "notices.models.IncidentState",
        "IncidentUpdateStateEnum": "notices.api.INCIDENT_UPDATE_STATE_CHOICES",
        # An import batch and a tax-system fetch share one life-cycle: queued, running, succeeded, failed.
        "JobStateEnum": "invoices.models.TaxFetchState",
        "ReviewStateEnum": "recovery.reissue.models.ReviewState",
        "EvidenceKindEnum": "recovery.reissue.models.EvidenceKind",
        "ComponentStateEnum": "notices.status.models.ComponentState",  # /api/status/
        "FunctionEnum": "notices.grid.Function",  # the grid's columns, wherever a function is named
        # incident responses: a response's scope names invoice types; its timeline has kinds of its own
        "InvoiceTypeEnum": "invoices.models.InvoiceType",
        "GapKindEnum": "recovery.models.GapKind",
        "ResponseEventKindEnum": "response.models.EventKind",
    },
}

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    # kombu's filesystem transport: one machine, no server. Producers and the worker share a folder.
    _queue_dir = VAR_DIR / "celery" / "queue"
    _control_dir = VAR_DIR / "celery" / "control"  # kombu's default is ./control, in the source tree
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _control_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(_control_dir),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Every queue name gets this prefix: two deployments (or a test's private worker) can share a broker.
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX") or ""
# Where tasks are sent unless routed; a test's private worker sets it so follow-up tasks stay with it.
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE") or f"{CELERY_QUEUE_PREFIX}celery"
# Notifications, imports, reconciliation and fetches each have a queue of their own (see
# outage_portal.celery.route_task), so one company's slow webhook or big import holds up only its own
# kind of work. A worker started without -Q consumes all of them (`make run`); docker-compose.yml runs
# one worker per queue, each scaled on its own.
CELERY_WORK_QUEUES = ("notifications", "imports", "reconciliation", "fetches")
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, *(CELERY_QUEUE_PREFIX + q for q in CELERY_WORK_QUEUES))
]
CELERY_TASK_ROUTES = ("outage_portal.celery.route_task",)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves its message to be delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Jobs (imports, fetches, reconciliation runs): a worker's claim lasts this long unless its heartbeat
# renews it (every third of it); once expired, the sweeper (every JOB_SWEEP_SECONDS) queues the job
# again, up to JOB_MAX_ATTEMPTS claims. A job queued longer than JOB_QUEUED_SECONDS since it was last
# sent lost its message and is sent again. Gap alerts not published JOB_SWEEP_SECONDS after they
# were recorded are published by the sweeper.
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 60)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 15)
JOB_QUEUED_SECONDS = env_int("JOB_QUEUED_SECONDS", 600)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
if JOB_LEASE_SECONDS < 2 or JOB_SWEEP_SECONDS < 1 or JOB_QUEUED_SECONDS < 1 or JOB_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured(
        "JOB_LEASE_SECONDS must be at least 2; JOB_SWEEP_SECONDS, JOB_QUEUED_SECONDS and JOB_MAX_ATTEMPTS at least 1"
    )
# Every periodic job, in one place. django-celery-beat copies these into its tables at start.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "worker-heartbeat": {
        "task": "outage_portal.tasks.worker_heartbeat",
        "schedule": timedelta(minutes=1),
    },
    # recovery: queue one reconciliation per company and direction (trigger "schedule").
    "reconcile-all-companies": {
        "task": "recovery.tasks.reconcile_all_companies",
        "schedule": timedelta(hours=1),
    },
    # response: open a company's response when a window touches it; keep the "invoicing paused"
    # banner's cached list right even after the cache was flushed.
    "open-incident-responses": {
        "task": "response.tasks.incident_responses_open_task",
        "schedule": timedelta(minutes=5),
    },
    "refresh-invoicing-pauses": {
        "task": "response.tasks.paused_companies_refresh_task",
        "schedule": timedelta(minutes=1),
    },
    # notices: maintenance windows move scheduled → in progress → completed by the clock.
    "advance-notice-states": {
        "task": "notices.tasks.advance_notice_states",
        "schedule": timedelta(minutes=1),
    },
    # invoices (imports): re-hash every kept original; a backup is only worth what a restore proves.
    "verify-import-originals": {
        "task": "invoices.tasks.import_originals_verify_task",
        "schedule": timedelta(days=1),
    },
    # Sweepers: jobs whose worker died (lease expired) or whose queue message was lost go back to the
    # queue, and gap alerts whose publication never happened are published.
    "sweep-stalled-imports": {
        "task": "invoices.tasks.import_batches_sweep_task",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    "sweep-stalled-fetches": {
        "task": "invoices.tasks.tax_fetches_sweep_task",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    "sweep-stalled-runs": {
        "task": "recovery.tasks.reconciliation_runs_sweep_task",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    "publish-pending-alerts": {
        "task": "recovery.tasks.alerts_publish_pending_task",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    # ...and drop the staging tables an import killed mid-way left behind.
    "sweep-import-staging": {
        "task": "invoices.tasks.import_staging_sweep_task",
        "schedule": timedelta(hours=1),
    },
    # notifications: reminders before windows start; re-queue deliveries a dead worker left behind.
    "notify-reminders": {
        "task": "notices.notify.tasks.reminders_send_task",
        "schedule": timedelta(minutes=1),
    },
    "notify-sweep-deliveries": {
        "task": "notices.notify.tasks.deliveries_sweep_task",
        "schedule": timedelta(seconds=JOB_SWEEP_SECONDS),
    },
    # recovery (reissue): delete evidence and scans whose save was rolled back after they were stored.
    "sweep-unreferenced-uploads": {
        "task": "recovery.tasks.private_uploads_sweep_task",
        "schedule": timedelta(days=1),
    },
    # notices (status): roll the 90-day history bars into the new day (Asia/Shanghai midnight). The task
    # lives in notices/status/tasks.py and keeps the name it was registered under before it moved there.
    "status-days-nightly": {
        "task": "notices.status_tasks.status_days_nightly",
        "schedule": crontab(hour=0, minute=5),
    },
}

# --- Domain settings ------------------------------------------------------------------------
try:
    # Reconciliation tolerance on amounts: default none.
    RECONCILE_AMOUNT_TOLERANCE = Decimal(env_str("RECONCILE_AMOUNT_TOLERANCE") or "0.00")
except InvalidOperation as exc:
    raise ImproperlyConfigured("RECONCILE_AMOUNT_TOLERANCE must be a decimal amount such as 0.01") from exc
RECONCILE_FUZZY_DAYS = env_int("RECONCILE_FUZZY_DAYS", 3)
# An order counts as invoiced by an invoice of the same counterparty and total within this many days of it.
RECONCILE_ORDER_DAYS = env_int("RECONCILE_ORDER_DAYS", 31)
# The tax system may lag our books by this many days before a run compares only up to its newest record.
RECONCILE_PARTIAL_LAG_DAYS = env_int("RECONCILE_PARTIAL_LAG_DAYS", 2)
# The longest period one reconciliation run may cover (a leap year); longer ones are refused, and a run
# that takes its period from the records covers the newest this many days of them.
RECONCILIATION_MAX_SPAN_DAYS = env_int("RECONCILIATION_MAX_SPAN_DAYS", 366)
if RECONCILIATION_MAX_SPAN_DAYS < 1:
    raise ImproperlyConfigured("RECONCILIATION_MAX_SPAN_DAYS must be at least 1")
# A company whose last run failed on its tax-system source within this many hours counts towards
# suggesting an incident for its region to notice admins.
SOURCE_FAILURE_HOURS = env_int("SOURCE_FAILURE_HOURS", 6)
STALE_BACKUP_DAYS = env_int("STALE_BACKUP_DAYS", 7)
# invoices (imports): uploads larger than this are parsed by a Celery worker, with a progress bar;
# smaller ones synchronously, so the report is there at once.
IMPORT_BACKGROUND_BYTES = env_int("IMPORT_BACKGROUND_BYTES", 2 * 1024 * 1024)
# An XLSX whose parts add up to more than this once inflated is refused before it is opened.
XLSX_MAX_EXPANDED_BYTES = env_int("XLSX_MAX_EXPANDED_BYTES", 200 * 1024 * 1024)

# invoices: tax-system sources. The simulator `make run` starts, and what the demo points at.
SIMULATOR_PORT = env_int("SIMULATOR_PORT", 8001)
TAX_SIMULATOR_URL = (env_str("TAX_SIMULATOR_URL") or f"http://127.0.0.1:{SIMULATOR_PORT}").rstrip("/")
TAX_SIMULATOR_TOKEN = env_str("TAX_SIMULATOR_TOKEN") or "demo-simulator-token"
# First retry of a failed tax-system call waits this long; each further retry waits twice as long.
TAX_SOURCE_RETRY_BACKOFF_MS = env_int("TAX_SOURCE_RETRY_BACKOFF_MS", 500)
# A tax system answering 503/429 with Retry-After is waited for, but never longer than this per retry.
TAX_SOURCE_MAX_RETRY_AFTER_SECONDS = env_int("TAX_SOURCE_MAX_RETRY_AFTER_SECONDS", 30)
# A "fetch now" still queued or running after this long is taken as abandoned (its worker died), so
# the button works again.
TAX_FETCH_STALE_MINUTES = env_int("TAX_FETCH_STALE_MINUTES", 30)
if TAX_SOURCE_MAX_RETRY_AFTER_SECONDS < 0:
    raise ImproperlyConfigured("TAX_SOURCE_MAX_RETRY_AFTER_SECONDS must be 0 or more seconds")
if TAX_FETCH_STALE_MINUTES < 1:
    raise ImproperlyConfigured("TAX_FETCH_STALE_MINUTES must be at least 1 minute")

# Notifications: HTTP timeouts per delivery, retries with exponential backoff, the claim
# lease after which a delivery a dead worker held is sent again, and when a channel counts as failing.
NOTIFY_HTTP_CONNECT_TIMEOUT = env_int("NOTIFY_HTTP_CONNECT_TIMEOUT", 5)
NOTIFY_HTTP_READ_TIMEOUT = env_int("NOTIFY_HTTP_READ_TIMEOUT", 10)
NOTIFY_MAX_ATTEMPTS = env_int("NOTIFY_MAX_ATTEMPTS", 6)
NOTIFY_RETRY_BASE_SECONDS = env_int("NOTIFY_RETRY_BASE_SECONDS", 30)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 120)
NOTIFY_SWEEP_GRACE_SECONDS = env_int("NOTIFY_SWEEP_GRACE_SECONDS", 120)
NOTIFY_CHANNEL_FAILURE_THRESHOLD = env_int("NOTIFY_CHANNEL_FAILURE_THRESHOLD", 5)
NOTIFY_OPTIN_PER_EMAIL_PER_HOUR = env_int("NOTIFY_OPTIN_PER_EMAIL_PER_HOUR", 3)
NOTIFY_OPTIN_PER_IP_PER_HOUR = env_int("NOTIFY_OPTIN_PER_IP_PER_HOUR", 20)
NOTIFY_QUEUE = env_str("NOTIFY_QUEUE") or ""  # empty: the notifications queue (outage_portal.celery.ROUTES)
if NOTIFY_LEASE_SECONDS <= NOTIFY_HTTP_CONNECT_TIMEOUT + NOTIFY_HTTP_READ_TIMEOUT:
    raise ImproperlyConfigured("NOTIFY_LEASE_SECONDS must exceed the HTTP connect + read timeouts")

# --- Outbound requests, secrets at rest, API tokens, throttling (docs/security.md) -----
# Every request the portal sends goes through outage_portal.outbound. Private, loopback, link-local
# and metadata addresses are refused unless listed here: networks or exact host:port pairs, e.g.
# OUTBOUND_ALLOW="10.20.0.0/16,127.0.0.1:8765". The default allows nothing private.
OUTBOUND_ALLOW = env_list("OUTBOUND_ALLOW", [])
try:
    from outage_portal.outbound import parse_allow

    parse_allow(OUTBOUND_ALLOW)
except ValueError as exc:
    raise ImproperlyConfigured(f"OUTBOUND_ALLOW: {exc}") from exc
try:
    OUTBOUND_PORTS = [int(port) for port in env_list("OUTBOUND_PORTS", ["80", "443"])]
except ValueError as exc:
    raise ImproperlyConfigured("OUTBOUND_PORTS must list port numbers, e.g. 80,443,8443") from exc
# The largest answer read from a tax system's page; webhook and robot answers get a smaller cap.
OUTBOUND_MAX_RESPONSE_BYTES = env_int("OUTBOUND_MAX_RESPONSE_BYTES", 8 * 1024 * 1024)
NOTIFY_MAX_RESPONSE_BYTES = env_int("NOTIFY_MAX_RESPONSE_BYTES", 64 * 1024)
# Fernet keys (comma-separated, newest first) encrypting tax-source tokens and channel secrets; the
# first encrypts, all decrypt, so a new key is put in front and the old one dropped once
# `manage.py rotate_secrets` re-encrypted every row. Unset: a key derived from SECRET_KEY (development).
FIELD_ENCRYPTION_KEYS = [key.strip() for key in (env_str("FIELD_ENCRYPTION_KEYS") or "").split(",") if key.strip()]
try:
    from cryptography.fernet import Fernet

    for _key in FIELD_ENCRYPTION_KEYS:
        Fernet(_key)
except ValueError as exc:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must list Fernet keys (Fernet.generate_key())") from exc
# API tokens (django-rest-knox): hashed at rest, expire after this many hours, die with a password change.
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 24 * 30)
INSTALLED_APPS = ["knox" if app == "rest_framework.authtoken" else app for app in INSTALLED_APPS]
REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] = [
    "rest_framework.authentication.SessionAuthentication",
    "knox.auth.TokenAuthentication",
]
REST_KNOX = {"TOKEN_TTL": timedelta(hours=API_TOKEN_TTL_HOURS), "AUTO_REFRESH": False}
# DRF throttling: the token endpoint (per client address) and writes (per user).
API_TOKEN_RATE = env_str("API_TOKEN_RATE") or "10/minute"
API_WRITE_RATE = env_str("API_WRITE_RATE") or "120/minute"
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = ["outage_portal.throttling.WriteRateThrottle"]
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured("API_TOKEN_TTL_HOURS must be at least 1 hour")
# --- end of outbound requests, secrets, API tokens, throttling ---------------------------------

# recovery (reissue): days a hand-issued invoice may stay out of the tax system before it is overdue,
# and how many days before a filing deadline the dashboard reminds accountants during an outage.
HAND_ISSUED_ENTRY_DAYS = env_int("HAND_ISSUED_ENTRY_DAYS", 7)
DEFERRED_FILING_REMIND_DAYS = env_int("DEFERRED_FILING_REMIND_DAYS", 5)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL") or "INFO"},
}
