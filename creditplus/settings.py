"""Django settings for creditplus, read from the environment (see README, "Configuration")."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from creditplus.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(env_str("CREDITPLUS_VAR_DIR", str(PROJECT_DIR / "var")))

# "development" allows the defaults below; "production" refuses to start with them.
ENVIRONMENT = env_str("CREDITPLUS_ENV", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("CREDITPLUS_ENV must be 'development' or 'production'")
PRODUCTION = ENVIRONMENT == "production"

_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
# 32 bytes, base64: development only; see README for generating real keys.
_DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1kby1ub3QtdXNlLWl0ISE="
_DEV_AUDIT_KEY = "dev-only-audit-chain-key"

SECRET_KEY = env_secret("SECRET_KEY", _DEV_SECRET_KEY)
PII_KEY = env_secret("CREDITPLUS_PII_KEY", _DEV_PII_KEY)
AUDIT_KEY = env_secret("CREDITPLUS_AUDIT_KEY", _DEV_AUDIT_KEY)
DEBUG = env_bool("DEBUG", not PRODUCTION)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

if PRODUCTION:
    for name, value, dev in [
        ("SECRET_KEY", SECRET_KEY, _DEV_SECRET_KEY),
        ("CREDITPLUS_PII_KEY", PII_KEY, _DEV_PII_KEY),
        ("CREDITPLUS_AUDIT_KEY", AUDIT_KEY, _DEV_AUDIT_KEY),
    ]:
        if value == dev or len(value) < 32:
            raise ImproperlyConfigured(f"{name} must be set to a real secret in production")
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off in production")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # HTTPS only: redirect plain HTTP (the health check excepted, for load balancers on the
    # inside), and tell browsers to keep to HTTPS for a year.
    SECURE_SSL_REDIRECT = env_bool("CREDITPLUS_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("CREDITPLUS_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CREDITPLUS_HSTS_SUBDOMAINS", False)
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (else every request looks
    # like plain HTTP and is redirected for ever).
    if env_bool("CREDITPLUS_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    # Order is dependency order: `load_reference` loads each app's reference data in it.
    "creditplus.accounts",
    "creditplus.catalog",
    "creditplus.subjects",
    "creditplus.records",
    "creditplus.lists",
    "creditplus.evaluation",
    "creditplus.sanctions",
    "creditplus.supervision",
    "creditplus.opendata",
    "creditplus.reports",
    "creditplus.cockpit",
    "creditplus.integrity",
    "creditplus.assessments",
    "creditplus.portal",
    "creditplus.operations",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Background jobs (uploads): Django 6's tasks API (backport) with the database backend,
    # so SQLite and PostgreSQL need nothing else; `creditplus db_worker` runs them.
    "django_tasks",
    "django_tasks_db",
    "axes",
    "ninja",  # the API docs' Swagger UI from our own static files (the CSP allows no CDN)
    "csp",
]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    # First: a token-authenticated API call takes TOKEN_API_MIDDLEWARE instead of this list.
    "creditplus.accounts.middleware.TokenApiMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "creditplus.accounts.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "creditplus.accounts.middleware.AuditContextMiddleware",
    "creditplus.accounts.middleware.RejectNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
    # Where the token API chain joins (it changes nothing itself).
    "creditplus.accounts.middleware.TokenApiEnd",
]
# What a department system's API call (Authorization: Bearer) runs through: no session,
# CSRF, locale, messages, login throttling, CSP or frame options, which serve browsers.
TOKEN_API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "creditplus.accounts.middleware.RequestIdMiddleware",
    "creditplus.accounts.middleware.AuditContextMiddleware",
    "creditplus.accounts.middleware.RejectNulMiddleware",
]

ROOT_URLCONF = "creditplus.urls"
WSGI_APPLICATION = "creditplus.wsgi.application"

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
                "creditplus.accounts.context_processors.roles",
                "creditplus.accounts.context_processors.language_links",
            ],
        },
    },
]

# Content-Security-Policy on every page (development too, so that a violation shows up before
# production): scripts only from our own static files or inline with the request's nonce
# (``nonce="{{ request.csp_nonce }}"``); styles may be inline (style attributes, and ECharts
# writes its tooltips with them); nothing from other sites.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- database ---------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'creditplus.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent, like PostgreSQL's: opening a connection (and running init_command) cost a
    # few ms per request, and closing the last one checkpoints the WAL.
    _db["CONN_MAX_AGE"] = 60
    _db["OPTIONS"] = {
        # IMMEDIATE: a transaction takes the write lock at BEGIN, so two writers never
        # both read the audit chain's head and then race to append to it.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
        ),
    }
    # A file (not :memory:) so that WAL applies as in production; per process, so that
    # concurrent test runs on one machine do not share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    pass
else:
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL 15+")
# PostgreSQL: the credit check's statements are prepared once per connection
# (creditplus.bulk.hot_cursor). Turn off behind a transaction-pooling PgBouncer < 1.21.
CREDITPLUS_PG_PREPARE = env_bool("CREDITPLUS_PG_PREPARE", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# ModelBackend, which also reads the permissions an API token loaded with it.
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "portal:home"

# Password guessing: django-axes counts failed logins (back office and admin) per account and
# per client address, each on its own; at the limit both are refused until the cool-off ends.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend's answers; a token's permissions come preloaded (accounts/backends.py).
    "creditplus.accounts.backends.PermissionBackend",
]
AXES_FAILURE_LIMIT = env_int("CREDITPLUS_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("CREDITPLUS_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "creditplus.ratelimit.client_address"
AXES_LOCKOUT_CALLABLE = "creditplus.accounts.throttling.lockout_response"
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- i18n: Simplified Chinese first, English available ----------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

# --- static files -----------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when it is missing
# Development serves static files without collectstatic, DEBUG on or off (the demo runs with
# DEBUG off to show the site's own error pages); production serves the collected files.
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- platform ---------------------------------------------------------------
PLATFORM_NAME = _("信用浦东")
# The district's name, written into snapshots so that a city-level run knows each one's source.
DISTRICT_NAME = env_str("CREDITPLUS_DISTRICT", "浦东新区")
SQLITE_INGEST_CACHE_MB = env_int("CREDITPLUS_SQLITE_INGEST_CACHE_MB", 256, minimum=2)
# SQLite page cache of a bulk load (creditplus load), in MB: it lives in the loading process
# for the whole load, beside the largest file's frame; with 256 it set the peak memory at
# Pudong scale (docs/ingest.md).
SQLITE_LOAD_CACHE_MB = env_int("CREDITPLUS_SQLITE_LOAD_CACHE_MB", 128, minimum=2)
# Connections that read a batch's random pages side by side before it writes (0: off): the
# disk serves concurrent reads several times faster than one after another (docs/ingest.md).
INGEST_WARM_CONNECTIONS = env_int("CREDITPLUS_INGEST_WARM_CONNECTIONS", 4, minimum=0, maximum=32)
# What one submitted XLSX may unpack to (the zip directory's sizes, checked before reading):
# Pudong's largest feed, 887,000 rows, unpacks to about 600 MB.
INGEST_MAX_UNPACKED_MB = env_int("CREDITPLUS_INGEST_MAX_UNPACKED_MB", 800, minimum=1)
# A bulk load (`creditplus load`) of at least this many rows, and at least a quarter of the
# records already stored, builds the records' and events' random-order indexes after its rows
# are in instead of maintaining them row by row (records/bulkload.py).
BULK_INDEX_MIN_ROWS = env_int("CREDITPLUS_BULK_INDEX_MIN_ROWS", 200_000, minimum=0)
# Files a bulk load writes at once on PostgreSQL (SQLite: always one). 2 is faster and takes
# about 1 GiB more memory at Pudong scale (docs/ingest.md, 18th session); each worker is one
# more database connection and one more file's frames in memory, hence the bound.
LOAD_WORKERS = env_int("CREDITPLUS_LOAD_WORKERS", 1, minimum=1, maximum=4)
# The Spark engine in local mode (evaluate --engine spark): the driver does all the work, so
# its heap bounds what it holds before spilling (Spark's default, 1g, suits the tests).
SPARK_DRIVER_MEMORY = env_str("CREDITPLUS_SPARK_DRIVER_MEMORY", "1g")
# Alerts a department receives one by one per day; the rest go into the daily digest.
CREDITPLUS_ALERTS_PER_DAY = env_int("CREDITPLUS_ALERTS_PER_DAY", 20, minimum=1)
# Open data: the latest publications whose full files are kept (deltas are kept for good).
CREDITPLUS_OPENDATA_KEEP_FULL = env_int("CREDITPLUS_OPENDATA_KEEP_FULL", 7, minimum=2)
# Credit reports: whether enterprise reports state the evaluation grade, and the public
# address printed on them for verification (default: the address the request came in on).
CREDITPLUS_REPORT_SHOWS_GRADE = env_bool("CREDITPLUS_REPORT_SHOWS_GRADE", True)
CREDITPLUS_SITE_URL = env_str("CREDITPLUS_SITE_URL", "")
# Personal reports: the local guidance to the central bank's financial credit report (empty:
# the built-in national text).
CREDITPLUS_FINANCIAL_REPORT_INSTRUCTIONS = env_str("CREDITPLUS_FINANCIAL_REPORT_INSTRUCTIONS", "")
# Anti-scraping: requests per client and minute on the public search and subject pages (and
# their API routes). Counters live in the default cache, which is per process: when several
# processes serve the site, configure a shared cache (e.g. Redis) in CACHES.
CREDITPLUS_RATE_LIMITS = {
    "search": env_int("CREDITPLUS_RATE_SEARCH_PER_MINUTE", 60, minimum=1),
    "subject": env_int("CREDITPLUS_RATE_SUBJECT_PER_MINUTE", 120, minimum=1),
}
# Operations: a token that monitoring systems send (Authorization: Bearer …) for the deep
# health check /healthz?deep=1 (administrators may use it signed in), and the TLS
# certificate file whose expiry the health report watches.
CREDITPLUS_HEALTH_TOKEN = env_secret("CREDITPLUS_HEALTH_TOKEN", "")
CREDITPLUS_TLS_CERT_FILE = env_str("CREDITPLUS_TLS_CERT_FILE", "")
# Reverse proxies whose X-Forwarded-For names the client (comma-separated addresses).
CREDITPLUS_TRUSTED_PROXIES = env_list("CREDITPLUS_TRUSTED_PROXIES", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
