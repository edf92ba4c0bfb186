"""Settings for the work-plan portal, read only from environment variables (see .env.example)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from portal.env import env_bool, env_int, env_list, env_str, parse_database_url, parse_email_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or ""
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off (set DEBUG=1 for development)")
    # Development only (DEBUG=1): production refuses to start without its own key (above).
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"  # nosec B105

if not DEBUG:
    # Production needs its real services; fail at start-up, not at the first request.
    for _required in ("DATABASE_URL", "REDIS_URL"):
        if not env_str(_required):
            raise ImproperlyConfigured(f"{_required} is required when DEBUG is off (see .env.example)")

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
DATABASES = {"default": parse_database_url(env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 0, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"].setdefault("application_name", "workplan-portal")
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # Wait for a concurrent writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
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
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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
globals().update(parse_email_url(env_str("EMAIL_URL") or "console://"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "portal@localhost")

# --- Security (production mode passes `check --deploy`) ---
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
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
REDIS_URL = env_str("REDIS_URL") or ""
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
# A down broker must not turn a save into an error page: publishing gives up quickly and the
# periodic sweep re-enqueues what was recorded (see indicators.recompute).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "sweep-pending-recomputes": {"task": "indicators.tasks.sweep_pending_recomputes_task", "schedule": 60.0},
    "nightly-full-recompute": {"task": "indicators.tasks.full_recompute_task", "schedule": 24 * 3600.0},
    "send-submission-reminders": {"task": "submissions.tasks.send_reminders_task", "schedule": 3600.0},
    "delete-old-exports": {"task": "reports.tasks.delete_old_exports_task", "schedule": 3600.0},
    "sweep-export-jobs": {"task": "reports.tasks.sweep_export_jobs_task", "schedule": 60.0},
    "send-notification-digest": {"task": "notifications.tasks.send_digests_task", "schedule": 24 * 3600.0},
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
        raise ImproperlyConfigured(f"{_name} must look like 60/minute (number/second|minute|hour|day), not {_rate!r}")
# Wrong old passwords on the password-change form before the session is signed out.
PASSWORD_CHANGE_FAILURE_LIMIT = env_int("PASSWORD_CHANGE_FAILURE_LIMIT", 5, minimum=1)

# --- Domain settings ---
# Count submitted (not yet approved) figures in indicators: off by default, only approved data counts.
INDICATORS_INCLUDE_SUBMITTED = env_bool("INDICATORS_INCLUDE_SUBMITTED", False)
REMINDER_DAYS_BEFORE_DUE = env_int("REMINDER_DAYS_BEFORE_DUE", 5, minimum=0)
EXPORT_ASYNC_THRESHOLD_ROWS = env_int("EXPORT_ASYNC_THRESHOLD_ROWS", 5000, minimum=1)
EXPORT_EXPIRY_HOURS = env_int("EXPORT_EXPIRY_HOURS", 24, minimum=1)
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

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"}
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's default "django" logger prints to its own console handler in debug and also propagates to the
    # root handler above, so "Not Found: /favicon.ico" appeared twice on the dev server. Drop its handlers and
    # let the root print each line once (no ADMINS are configured, so its mail_admins handler sent nothing).
    # Configuring "django" resets its children, so the request lines of "django.server" are configured again
    # as Django has them: own handler and time-stamped format, not propagated (printed once as well).
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
