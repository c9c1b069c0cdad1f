"""Settings shared by every environment. Everything an operator sets comes from KAMGUARD_* variables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from kamguard.settings.env import data_dir, env_bool, env_int, env_list, env_str

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()

DEBUG = env_bool("KAMGUARD_DEBUG", False)
SECRET_KEY = env_str("KAMGUARD_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "KAMGUARD_SECRET_KEY is not set. Set it to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
# Key for the audit trail's hash chain. Keep it stable: changing it makes old events fail verification.
AUDIT_CHAIN_KEY = env_str("KAMGUARD_AUDIT_KEY", SECRET_KEY)
# Keys that seal secrets kept in the database (core.sealing): the first seals, all open. Rotate by putting a new
# key first, running `kamguard reseal`, then dropping the old one.
FIELD_KEYS = env_list("KAMGUARD_FIELD_KEYS", [SECRET_KEY])

ALLOWED_HOSTS = env_list("KAMGUARD_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("KAMGUARD_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "axes",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "kamguard.core",
    "kamguard.org",
    "kamguard.accounts",
    "kamguard.audit",
    "kamguard.customers",
    "kamguard.allocation",
    "kamguard.activities",
    "kamguard.worklogs",
    "kamguard.meetings",
    "kamguard.relay",
    "kamguard.records",
    "kamguard.plans",
    "kamguard.supervision",
    "kamguard.approvals",
    "kamguard.sales",
    "kamguard.contracts",
    "kamguard.risk",
    "kamguard.goals",
    "kamguard.reviews",
    "kamguard.performance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "kamguard.core.middleware.NulCharacterMiddleware",
    "kamguard.core.middleware.NumberRangeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "kamguard.core.middleware.ApiProblemMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kamguard.core.middleware.RequestContextMiddleware",
    "kamguard.accounts.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kamguard.urls"
WSGI_APPLICATION = "kamguard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kamguard.core.context_processors.navigation",
            ],
        },
    },
]


def _database_from_env() -> dict[str, Any]:
    url = env_str("KAMGUARD_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'kamguard.sqlite3'}"
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("KAMGUARD_DB_CONN_MAX_AGE", 60))
    except Exception as exc:  # dj-database-url raises bare errors for unknown schemes
        raise ImproperlyConfigured(f"KAMGUARD_DATABASE_URL is not a valid database URL: {exc}") from exc
    engine = str(config["ENGINE"])
    if engine.endswith("sqlite3"):
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # Writers take the lock at BEGIN, so read-then-write inside a transaction cannot interleave.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=30000;PRAGMA cache_size=-65536;"
            ),
        }
    elif "postgresql" in engine:
        config.setdefault("OPTIONS", {})
        config["CONN_HEALTH_CHECKS"] = True
    else:
        raise ImproperlyConfigured("KAMGUARD_DATABASE_URL must name a SQLite or PostgreSQL database.")
    return dict(config)


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in protection (django-axes): lock the pair (user, address) after repeated failures.
AXES_FAILURE_LIMIT = env_int("KAMGUARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("KAMGUARD_LOGIN_COOLOFF_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kamguard.accounts.views.lockout_response"
# The same client address as the audit trail (honours TRUST_X_FORWARDED_FOR behind a proxy).
AXES_CLIENT_IP_CALLABLE = "kamguard.core.middleware.client_ip"
# Behind a reverse proxy every request comes from the proxy's address, so lockouts and the audit trail
# would see one address. Set KAMGUARD_TRUSTED_PROXY=true only when the proxy *replaces* X-Forwarded-For
# with the real client address (nginx: proxy_set_header X-Forwarded-For $remote_addr); otherwise a
# client could choose its own address.
TRUST_X_FORWARDED_FOR = env_bool("KAMGUARD_TRUSTED_PROXY", False)
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# Sessions: absolute lifetime from sign-in, idle timeout enforced by SessionPolicyMiddleware.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# The cache holds rate-limit counters (the public lead form): in the database, so every web process counts
# the same (the table comes with `kamguard migrate`, core migration 0004).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "kamguard_cache"}}
SESSION_COOKIE_AGE = env_int("KAMGUARD_SESSION_ABSOLUTE_MINUTES", 12 * 60) * 60
SESSION_IDLE_SECONDS = env_int("KAMGUARD_SESSION_IDLE_MINUTES", 30) * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LANGUAGE_COOKIE_NAME = "kamguard_language"
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
FORMAT_MODULE_PATH = ["kamguard.formats"]  # amounts grouped by thousands in Chinese too
TIME_ZONE = env_str("KAMGUARD_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": DATA_DIR / "files"}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_BYTES = env_int("KAMGUARD_IMPORT_MAX_MB", 50) * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Content-Security-Policy (django-csp): everything from our own origin; no inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("KAMGUARD_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "django.request": {"level": "ERROR"}},
}

# Roles that must sign in with a second factor.
TOTP_REQUIRED_ROLES = env_list("KAMGUARD_TOTP_REQUIRED_ROLES", ["admin", "auditor", "external_auditor"])
TOTP_ISSUER = env_str("KAMGUARD_TOTP_ISSUER", "KAMGuard")
