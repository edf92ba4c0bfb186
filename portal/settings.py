"""Settings for the work-plan portal, read only from environment variables (see .env.example)."""

from __future__ import annotations

import re
from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from portal import env as _env
from portal.env import env_bool, env_int, env_list, env_required, env_str, env_url, parse_database_url, parse_email_url
from portal.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

# A bad DEBUG is refused at once: every other rule depends on it.
DEBUG = env_bool("DEBUG", False)
# From here on every unset or unparsable variable is collected and named in one error at the end.
_env.collect_errors()
if DEBUG:
    # Development only (DEBUG=1): production refuses to start without its own key (below).
    SECRET_KEY = env_str("SECRET_KEY") or "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"
else:
    # Production needs its real services; fail at start-up, not at the first request.
    SECRET_KEY = env_required("SECRET_KEY")
    for _required in ("DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
        env_required(_required)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tables2",
    "django_filters",
    "axes",
    "portal",
    "schools",
    "submissions",
    "indicators",
    "plans",
    "targets",
    "reports",
    "notifications",
    "demo",  # demo data and `load_demo`; nothing above imports it
]

MIDDLEWARE = [
    # First: every later log line carries the request id; the latency covers the whole stack.
    "portal.middleware.RequestIdMiddleware",
    "portal.middleware.RequestLatencyMiddleware",
    # /healthz answers before host validation and the HTTPS redirect (probes come on plain HTTP).
    "portal.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.PortalLocaleMiddleware",
    # Before anything reads the body (CSRF does); after the locale so its message is in the user's language.
    "portal.middleware.RequestSizeLimitMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Configuration changes made while serving the request are recorded with its user and channel.
    "portal.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # AxesMiddleware must stay last: it turns lock-outs into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.navigation",
                "notifications.context_processors.bell",
            ],
        },
    },
]

# --- Database ---
DATABASES = {"default": env_url("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}", parse_database_url)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"].setdefault("application_name", "workplan-portal")
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Wait for a concurrent writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
# A PostgreSQL read replica (optional): the report pages and export workbooks read from it inside
# portal.db_router.use_replica(); every write, and every other read, goes to "default".
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL") or ""
if DATABASE_REPLICA_URL and (_replica := _env.replica_database(DATABASE_REPLICA_URL, DATABASES["default"])):
    DATABASES["replica"] = _replica
DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Argon2id first: memory-hard, and cheap enough in CPU that a deadline-day rush of log-ins does not queue every
# other request behind PBKDF2's 1,000,000 rounds (see portal/hashers.py). Older PBKDF2 hashes still verify and
# are rehashed with Argon2id at the user's next log-in.
PASSWORD_HASHERS = [
    "portal.hashers.OfficeArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Office use: a session lasts a working day and ends with the browser.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_SAVE_EVERY_REQUEST = False

# django-axes: schools share one public IP, so lock out by username + IP, never by IP alone.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# --- i18n ---
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai"
USE_TZ = True

# --- Static and uploaded files (served locally; no CDN) ---
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# In development WhiteNoise serves straight from static/ (no collectstatic needed for `make run`).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_URL = "/media/"
# Uploaded evidence is never a public file: a view checks the user's scope, then either streams the file or,
# with this set to the web server's internal location (nginx: /protected-media/, see deploy/nginx.conf), hands
# it to the web server with X-Accel-Redirect.
PROTECTED_MEDIA_REDIRECT = env_str("PROTECTED_MEDIA_REDIRECT") or ""
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
# STORAGE_BACKEND=s3 keeps evidence and exports in an S3-compatible bucket (optional extra: pip install .[s3]);
# they are still served only through the portal's views, which stream them from the storage.
STORAGES = {
    "default": _env.default_storage_settings(),
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Upload caps: Excel templates and evidence files. Larger bodies are refused before parsing.
# Only the upload views (portal.middleware.accepts_uploads), for a signed-in user, take a body up to
# MAX_UPLOAD_BYTES; every other request keeps Django's 2.5 MB cap on form data, refused from the declared
# length before anything is read (portal.middleware.RequestSizeLimitMiddleware).
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# --- E-mail ---
globals().update(env_url("EMAIL_URL", "console://", parse_email_url))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

# --- Security (production mode passes `check --deploy`) ---
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
# Prometheus scrapes gunicorn directly on the internal network (bearer token, see METRICS_TOKEN).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

# --- Celery ---
# redis://host:6379/0, or Redis Sentinel: sentinel://h1:26379;sentinel://h2:26379 with REDIS_SENTINEL_MASTER.
REDIS_URL = env_str("REDIS_URL") or ""
REDIS_SENTINEL_MASTER = (env_str("REDIS_SENTINEL_MASTER") or "").strip()
if _env.is_sentinel_url(REDIS_URL):
    _env.check_sentinel_url(REDIS_URL)
    if not REDIS_SENTINEL_MASTER:
        _env.report("REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_MASTER is required when REDIS_URL is sentinel://")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker (make run, tests) tasks run in-process, so the portal needs nothing but Python.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1500, minimum=5)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Our LOGGING (timestamp, level, logger, request id; JSON by setting) applies to the worker too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A broker that is down or frozen (accepts the connection, never answers) must not hold a request: every
# socket operation gives up after BROKER_TIMEOUT_SECONDS, publishing retries once, and the periodic sweep
# re-enqueues what was recorded (see indicators.dispatch).
BROKER_TIMEOUT_SECONDS = env_int("BROKER_TIMEOUT_SECONDS", 3, minimum=1, maximum=60)
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "socket_timeout": BROKER_TIMEOUT_SECONDS,
    "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
}
if _env.is_sentinel_url(REDIS_URL):
    # Celery asks the Sentinels for the current master of this name (and again after a fail-over).
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = REDIS_SENTINEL_MASTER
    CELERY_BROKER_TRANSPORT_OPTIONS["sentinel_kwargs"] = {
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
    }
CELERY_REDIS_SOCKET_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = BROKER_TIMEOUT_SECONDS
CELERY_TASK_PUBLISH_RETRY = False
# Three queues, so a big export never delays a recompute. A worker started without -Q serves all three;
# on bigger sites run one worker per queue (README.md, "Production set-up"). Tasks are routed by name; a task
# no route names joins the recompute queue, which is always served.
CELERY_QUEUE_NAMES = ("recompute", "exports", "notifications")
CELERY_TASK_QUEUES = {name: {"exchange": name, "routing_key": name} for name in CELERY_QUEUE_NAMES}
CELERY_TASK_DEFAULT_QUEUE = "recompute"
CELERY_TASK_ROUTES = {
    "indicators.*": {"queue": "recompute"},
    "reports.*": {"queue": "exports"},
    "submissions.tasks.send_reminders_task": {"queue": "notifications"},
    "*notif*": {"queue": "notifications"},
    "*remind*": {"queue": "notifications"},
}
# The nightly full recompute starts at this local hour (TIME_ZONE), whenever beat was started.
NIGHTLY_RECOMPUTE_HOUR = env_int("NIGHTLY_RECOMPUTE_HOUR", 2, minimum=0, maximum=23)
# Each worker queue answers a heartbeat this often; /healthz calls the workers stale after WORKER_HEARTBEAT_MAX_AGE.
WORKER_HEARTBEAT_SECONDS = 30
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 180, minimum=60)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-pending-recomputes": {"task": "indicators.tasks.sweep_pending_recomputes_task", "schedule": 60.0},
    "nightly-full-recompute": {
        "task": "indicators.tasks.full_recompute_task",
        "schedule": crontab(minute=0, hour=NIGHTLY_RECOMPUTE_HOUR),
    },
    "send-submission-reminders": {"task": "submissions.tasks.send_reminders_task", "schedule": 3600.0},
    "send-milestone-reminders": {"task": "notifications.tasks.send_milestone_reminders_task", "schedule": 3600.0},
    "delete-old-exports": {"task": "reports.tasks.delete_old_exports_task", "schedule": 3600.0},
    "sweep-export-jobs": {"task": "reports.tasks.sweep_export_jobs_task", "schedule": 60.0},
    # After a quarter's deadline: its bulletin for each active plan at the bureau root, once (idempotent).
    "generate-scheduled-bulletins": {"task": "reports.tasks.scheduled_bulletins_task", "schedule": 3600.0},
    "send-notification-digest": {"task": "notifications.tasks.send_digests_task", "schedule": 24 * 3600.0},
    **{
        f"worker-heartbeat-{queue}": {
            "task": "portal.tasks.worker_heartbeat_task",
            "schedule": float(WORKER_HEARTBEAT_SECONDS),
            "args": (queue,),
            # A heartbeat nobody took within the period is worthless: drop it instead of queueing a backlog.
            "options": {"queue": queue, "expires": WORKER_HEARTBEAT_SECONDS},
        }
        for queue in CELERY_QUEUE_NAMES
    },
}

# --- REST API ---
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Rates are read per request from API_THROTTLE_ANON_RATE / API_THROTTLE_USER_RATE (below).
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.AnonThrottle", "portal.api.UserThrottle"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "portal.api.Pagination",
    "PAGE_SIZE": 100,
    # One shape: every decimal is a JSON number (the figures API already was; indicator values were strings).
    "COERCE_DECIMAL_TO_STRING": False,
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "portal.api.JSONParser",  # deep nesting → 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Work-plan portal API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Like every other page, the schema and its docs need a signed-in user (or a token).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI assets come from the sidecar package: bureau intranets have no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per choice set shared by several serializers (else W001 warnings and "Level7c6Enum").
    "ENUM_NAME_OVERRIDES": {
        "OrgUnitLevelEnum": "schools.models.Level",
        "SchoolTypeEnum": "schools.models.SchoolType",
        "OwnershipEnum": "schools.models.Ownership",
        "DesignationLevelEnum": "schools.models.DesignationLevel",
        "SubmissionStatusEnum": "submissions.models.SubmissionStatus",
        "PlanStatusEnum": "plans.models.PlanStatus",
        "ProgressStatusEnum": "targets.models.ProgressStatus",
        "TargetKindEnum": "targets.models.TargetKind",
        "ExportStatusEnum": "reports.models.ExportStatus",
    },
}

# API tokens expire (0: never) and are deleted when their user's password changes.
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 90, minimum=0)
# DRF throttling (Django's cache; per process with the default local-memory cache). Empty switches it off.
API_THROTTLE_ANON_RATE = (env_str("API_THROTTLE_ANON_RATE", "60/minute") or "").strip()
API_THROTTLE_USER_RATE = (env_str("API_THROTTLE_USER_RATE", "1200/minute") or "").strip()
for _name in ("API_THROTTLE_ANON_RATE", "API_THROTTLE_USER_RATE"):
    _rate = globals()[_name]
    if _rate and not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", _rate):
        _env.report(_name, f"{_name} must look like 60/minute (number/second|minute|hour|day), not {_rate!r}")
# Wrong old passwords on the password-change form before the session is signed out.
PASSWORD_CHANGE_FAILURE_LIMIT = env_int("PASSWORD_CHANGE_FAILURE_LIMIT", 5, minimum=1)

# --- Domain settings ---
# Count submitted (not yet approved) figures in indicators: off by default, only approved data counts.
INDICATORS_INCLUDE_SUBMITTED = env_bool("INDICATORS_INCLUDE_SUBMITTED", False)
REMINDER_DAYS_BEFORE_DUE = env_int("REMINDER_DAYS_BEFORE_DUE", 5, minimum=0)
# A milestone's owner is told this many days before its due day (and once more when it has passed).
MILESTONE_REMINDER_DAYS = env_int("MILESTONE_REMINDER_DAYS", 7, minimum=0)
EXPORT_ASYNC_THRESHOLD_ROWS = env_int("EXPORT_ASYNC_THRESHOLD_ROWS", 5000, minimum=1)
# A target page's drill-down CSV/XLSX with more rows than this is written by a background export job.
DRILLDOWN_EXPORT_ASYNC_ROWS = env_int("DRILLDOWN_EXPORT_ASYNC_ROWS", 5000, minimum=1)
EXPORT_EXPIRY_HOURS = env_int("EXPORT_EXPIRY_HOURS", 24, minimum=1)

# The quarterly bulletin (reports/bulletin): the CJK font of its charts (default: the first Noto CJK font found;
# none: the charts carry numbers only, their captions are in the document's text), LibreOffice for its PDF
# (missing or failing: the .docx is still delivered, the job says why there is no PDF) and its time limit.
_BULLETIN_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
BULLETIN_FONT = env_str("BULLETIN_FONT", "") or next((f for f in _BULLETIN_FONTS if Path(f).is_file()), "")
LIBREOFFICE_BIN = env_str("LIBREOFFICE_BIN", "soffice")
BULLETIN_PDF_TIMEOUT = env_int("BULLETIN_PDF_TIMEOUT", 120, minimum=1)
STOCK_CHANGE_WARNING_SHARE = env_int("STOCK_CHANGE_WARNING_PERCENT", 30, minimum=1) / 100
SMALL_DENOMINATOR_THRESHOLD = env_int("SMALL_DENOMINATOR_THRESHOLD", 20, minimum=0)
SIGNING_SALT_TEMPLATES = "submissions.template"
# Notifications: a second channel (a WeCom/DingTalk group robot's webhook URL; empty: off), its timeout, and the
# portal's address for links in e-mails and chat messages (empty: links are paths).
NOTIFY_WEBHOOK_URL = env_str("NOTIFY_WEBHOOK_URL") or ""
NOTIFY_WEBHOOK_TIMEOUT = env_int("NOTIFY_WEBHOOK_TIMEOUT", 5, minimum=1)
NOTIFY_SITE_URL = env_str("NOTIFY_SITE_URL") or ""
# More e-mails than this to one user within an hour wait for the daily digest (a reviewer with 61 overdue schools
# gets a few e-mails and one digest, not 61 e-mails).
NOTIFY_EMAIL_HOURLY_LIMIT = env_int("NOTIFY_EMAIL_HOURLY_LIMIT", 10, minimum=1)

# --- Logs, errors and monitoring ---
# One line per event with timestamp, level, logger and request id; LOG_FORMAT=json writes JSON lines.
LOG_LEVEL = (env_str("LOG_LEVEL") or "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    _env.report("LOG_LEVEL", f"LOG_LEVEL={LOG_LEVEL!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    LOG_LEVEL = "INFO"
LOG_FORMAT = (env_str("LOG_FORMAT") or "text").lower()
if LOG_FORMAT not in {"text", "json"}:
    _env.report("LOG_FORMAT", f"LOG_FORMAT={LOG_FORMAT!r} is not text or json")
    LOG_FORMAT = "text"
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
# /healthz calls the recompute backlog unhealthy when its oldest open row is older than this.
HEALTH_RECOMPUTE_MAX_AGE = env_int("HEALTH_RECOMPUTE_MAX_AGE", 1800, minimum=60)
# /metrics answers a bureau-wide admin's session, or this bearer token (Prometheus); nobody else.
METRICS_TOKEN = env_str("METRICS_TOKEN") or ""
# Folder shared by the gunicorn workers of one host, so /metrics sums the request latency of all of them.
METRICS_DIR = env_str("METRICS_DIR") or ""
# Error reports to Sentry (optional dependency: pip install .[sentry]).
SENTRY_DSN = env_str("SENTRY_DSN") or ""
if SENTRY_DSN:
    from portal.sentry import init_sentry

    init_sentry(SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT") or "production")

_env.raise_collected()
