"""Settings, read from the environment (12-factor). Every variable is documented in
docs/configuration.md; keep the two in step."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import dj_email_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("NIGHTSHIFT_VAR_DIR", BASE_DIR / "var")).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

LOCAL_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [item.strip() for item in value.split(",") if item.strip()] or default


DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
RUNNING_LOCALLY = all(host in LOCAL_HOSTS for host in ALLOWED_HOSTS)


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG and not RUNNING_LOCALLY:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off and ALLOWED_HOSTS names a public host."
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "nightshift.core",
    "nightshift.crm",
    "nightshift.scheduling",
    "nightshift.processes",
    "nightshift.runs",
    "nightshift.archiving",
    "nightshift.imports",
    "nightshift.mail",
    "nightshift.inbox",
    "nightshift.erp",
    "nightshift.alerts",
    "nightshift.api",
    "nightshift.web",
    "nightshift.exports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "nightshift.core.middleware.ActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: refuses everything but the notifications page to a
    # user with open blocking notifications.
    "nightshift.alerts.blocking.BlockingNotificationsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "nightshift.urls"
WSGI_APPLICATION = "nightshift.wsgi.application"
ASGI_APPLICATION = "nightshift.asgi.application"

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
                "nightshift.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'nightshift.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the scheduler and a worker share one file without "database is
    # locked"; IMMEDIATE makes a writer take the lock at BEGIN instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests get a file too, as a worker has: an in-memory database shares one cache between
    # connections and locks whole tables, so a second connection (an import reading ahead)
    # could not read while the first writes.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("pt-br", _("Brazilian Portuguese"))]
LOCALE_PATHS = [BASE_DIR / "nightshift" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns on every request when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # `make run` works without a collectstatic step
MEDIA_ROOT = VAR_DIR / "media"


def _mailer(url: str) -> dict:
    """EMAIL_URL (smtp://user:pass@host:587/?tls=True, file:///dir, console:) → a MAILERS entry."""
    parsed = dj_email_url.parse(url)
    backend = parsed["EMAIL_BACKEND"]
    if backend.endswith("filebased.EmailBackend"):
        # dj-email-url drops the leading "/" of file:///abs/path; read the path ourselves.
        path = Path(urlsplit(url).path)
        path.mkdir(parents=True, exist_ok=True)
        return {"BACKEND": backend, "OPTIONS": {"file_path": str(path)}}
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": parsed["EMAIL_HOST"],
            "port": parsed["EMAIL_PORT"],
            "username": parsed["EMAIL_HOST_USER"],
            "password": parsed["EMAIL_HOST_PASSWORD"],
            "use_tls": parsed["EMAIL_USE_TLS"],
            "use_ssl": parsed["EMAIL_USE_SSL"],
            "timeout": parsed["EMAIL_TIMEOUT"] or 30,
        }
        return {"BACKEND": backend, "OPTIONS": options}
    return {"BACKEND": backend}


MAILERS = {"default": _mailer(os.environ.get("EMAIL_URL") or f"file://{VAR_DIR / 'mail'}")}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Nightshift <nightshift@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# The address operators reach the web UI at: links in e-mails (run summaries) start with it.
NIGHTSHIFT_BASE_URL = os.environ.get("NIGHTSHIFT_BASE_URL", "http://127.0.0.1:8000")
# Records per batch (one transaction each) when a run executes. bench/engine.py: 2,500 runs a
# million records ~25 % faster than 1,000 (fewer statements planned and committed per
# record); 5,000 no faster. A stop rolls back at most this many.
NIGHTSHIFT_BATCH_SIZE = int(os.environ.get("NIGHTSHIFT_BATCH_SIZE", "2500"))
# Exports write into directories under this one (the manuals' configurable export directory).
NIGHTSHIFT_EXPORT_ROOT = Path(os.environ.get("NIGHTSHIFT_EXPORT_ROOT", VAR_DIR / "exports"))
# A worker whose heartbeat is older than this (seconds) is presumed dead; its runs are taken over.
NIGHTSHIFT_WORKER_TIMEOUT = int(os.environ.get("NIGHTSHIFT_WORKER_TIMEOUT", "30"))
# Seconds between a worker's heartbeats; keep it well under NIGHTSHIFT_WORKER_TIMEOUT.
NIGHTSHIFT_HEARTBEAT_INTERVAL = float(os.environ.get("NIGHTSHIFT_HEARTBEAT_INTERVAL", "5"))
# A slot fired later than this (seconds) counts as missed and follows the misfire policy.
NIGHTSHIFT_MISFIRE_GRACE = int(os.environ.get("NIGHTSHIFT_MISFIRE_GRACE", "60"))

# Uploads larger than this (bytes) are refused; a million contacts in CSV are about 120 MB.
NIGHTSHIFT_IMPORT_MAX_BYTES = int(
    os.environ.get("NIGHTSHIFT_IMPORT_MAX_BYTES", str(512 * 1024 * 1024))
)
# The import directory (the manuals' "import directory"): watched folders live inside it.
NIGHTSHIFT_IMPORT_DIR = Path(os.environ.get("NIGHTSHIFT_IMPORT_DIR", VAR_DIR / "imports"))

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": [],  # every application server is a queue; the list is not fixed
    }
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# ERP integration (docs/erp.md): which connector answers the account routines — "crm" (the
# CRM's own purchase events and invoices), "http", a connector class's dotted path, or "none"
# when no ERP integration is active (the account routines' runs then fail with that reason).
NIGHTSHIFT_ERP_CONNECTOR = os.environ.get("NIGHTSHIFT_ERP_CONNECTOR", "crm")
NIGHTSHIFT_ERP_URL = os.environ.get("NIGHTSHIFT_ERP_URL", "")
NIGHTSHIFT_ERP_TOKEN = os.environ.get("NIGHTSHIFT_ERP_TOKEN", "")
# Seconds an HTTP ERP has to answer one request before the run fails.
NIGHTSHIFT_ERP_TIMEOUT = float(os.environ.get("NIGHTSHIFT_ERP_TIMEOUT", "30"))
# Accounts per HTTP request: a 2,500-record batch is five requests of 500.
NIGHTSHIFT_ERP_BATCH = int(os.environ.get("NIGHTSHIFT_ERP_BATCH", "500"))
# The "crm" connector counts an account active while it bought or was billed this recently.
NIGHTSHIFT_ERP_ACTIVE_MONTHS = int(os.environ.get("NIGHTSHIFT_ERP_ACTIVE_MONTHS", "12"))
