"""One settings module, driven by environment variables with embedded defaults.

With nothing set, the product runs on an SQLite file and the in-memory channel layer
(one process). Production sets DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis),
SECRET_KEY and ALLOWED_HOSTS, and runs several Daphne processes.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    value = value.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def _envnumber(name, default, cast, what):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return cast(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {value!r}") from None


def envint(name: str, default: int) -> int:
    return _envnumber(name, default, int, "an integer")


def envfloat(name: str, default: float) -> float:
    return _envnumber(name, default, float, "a number")


def envlist(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)

# The development key only ever serves a developer's own machine: refusing it when DEBUG
# is off keeps a forgotten setting from signing production sessions and join links.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or DEV_SECRET_KEY
if SECRET_KEY == DEV_SECRET_KEY and not DEBUG:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set SECRET_KEY to a long random value, "
        "or DEBUG=1 for local development only."
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "forum",
    "realtime",
    "moderation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The interface in the person's language: the switcher's choice, else the browser's.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "forum.urls"
ASGI_APPLICATION = "forum.asgi.application"
AUTH_USER_MODEL = "forum.User"

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
            ],
        },
    },
]

DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "").strip()
        or f"sqlite:///{DATA_DIR / 'roundtables.sqlite3'}",
        # Persistent connections: the websocket path calls the database from one worker
        # thread per process, and reconnecting to PostgreSQL on every call costs milliseconds.
        conn_max_age=envint("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets the room page read while a post commits; the timeout rides out short locks.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Kept open: Channels closes the connection after every database_sync_to_async call
    # otherwise, and reopening SQLite was a third of the websocket thread's time (about 6%
    # of the server's CPU per delivered frame, bench/README.md). Each HTTP request runs in a
    # thread of its own; its connection is closed when the request ends (forum/apps.py).
    DATABASES["default"]["CONN_MAX_AGE"] = envint("CONN_MAX_AGE", 60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI each HTTP request runs in a thread of its own, so persistent connections
    # pile up until PostgreSQL refuses clients. A bounded pool per process keeps the savings
    # of not reconnecting without the pile-up.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("DB_POOL_SIZE", 10),
        "timeout": 10,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BASE_URL = os.environ.get("BASE_URL", f"http://127.0.0.1:{envint('PORT', 8000)}").rstrip("/")

REDIS_URL = os.environ.get("REDIS_URL", "").strip()
# Hub channels hold at most this many undelivered room messages; beyond it the layer drops
# and the hub refills from the event log.
CHANNEL_CAPACITY = envint("CHANNEL_CAPACITY", 2000)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "realtime.layers.PooledRedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": CHANNEL_CAPACITY,
                # Hubs re-join their room group every minute; a dead process's membership
                # then lapses after five instead of a day.
                "group_expiry": 300,
                "prefix": os.environ.get("CHANNEL_PREFIX", "rt"),
                "max_connections": envint("REDIS_MAX_CONNECTIONS", 50),
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_CAPACITY, "group_expiry": 300},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# E-mail (forum/services/mail.py queues it, `manage.py send_mail` sends it). EMAIL_URL names the
# SMTP server (forum/mail_url.py: smtp://, smtp+tls://, smtp+ssl://); without it every message
# is written as an .eml file under DATA_DIR/mail, so the whole flow works with nothing installed.
EMAIL_URL = os.environ.get("EMAIL_URL", "").strip()
if EMAIL_URL:
    from forum.mail_url import EmailUrlError, parse_email_url

    try:
        globals().update(parse_email_url(EMAIL_URL))
    except EmailUrlError as exc:
        raise ImproperlyConfigured(str(exc)) from None
else:
    EMAIL_BACKEND = "forum.services.mail_files.EmlFileBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = (
    os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or "Round tables <noreply@localhost>"
)

LANGUAGE_CODE = "en"
# The four official languages of the OAS; every interface string has all four (a test checks).
LANGUAGES = [("en", "English"), ("es", "Español"), ("fr", "Français"), ("pt", "Português")]
# The languages an intervention may be written in (Intervention.language, the post frame's
# "lang"): the interface languages and the other official languages of the United Nations, so
# the minutes can mark a statement in Arabic, Chinese or Russian as such (lang, right to left).
INTERVENTION_LANGUAGES = [
    *LANGUAGES,
    ("ar", "العربية"),
    ("zh", "中文"),
    ("ru", "Русский"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# Daphne serves /static/ itself unless a reverse proxy does it (SERVE_STATIC=0).
SERVE_STATIC = envbool("SERVE_STATIC", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

# Staff sign in on the product's own page and land on the secretariat's pages; seat holders
# sign in with their join links only (forum/room/views.py:  join).
LOGIN_URL = "/sign-in/"
LOGIN_REDIRECT_URL = "/secretariat/"
# A form from another site, or without its token, is refused with the product's own page.
CSRF_FAILURE_VIEW = "forum.site.views.csrf_failure"

# Limits of the websocket protocol (docs/protocol.md).
ROUNDTABLES = {
    "MAX_FRAME_BYTES": 64 * 1024,
    "MAX_BODY_CHARS": 10_000,
    "REPLAY_CHUNK": 500,
    # Every hub compares its position with the log this often, so an event whose
    # channel-layer message was lost still reaches every socket.
    "HUB_POLL_SECONDS": envfloat("HUB_POLL_SECONDS", 2.0),
    "PRESENCE_DEBOUNCE_SECONDS": 0.5,
    # Per seat: a burst of POST_BURST posts, then one more every POST_REFILL_SECONDS.
    # The chair and moderators are exempt (they run the room).
    "POST_BURST": envint("POST_BURST", 5),
    "POST_REFILL_SECONDS": envfloat("POST_REFILL_SECONDS", 6.0),
    # Per socket: any frame, FRAME_BURST at once and FRAME_RATE per second after that.
    "FRAME_BURST": envint("FRAME_BURST", 30),
    "FRAME_RATE": envfloat("FRAME_RATE", 10.0),
    # Sockets one seat may hold open in one process (tabs, devices).
    "MAX_SOCKETS_PER_SEAT": envint("MAX_SOCKETS_PER_SEAT", 5),
    # A hub outlives its last socket briefly, so a page reload does not resubscribe.
    "HUB_IDLE_SECONDS": 30.0,
    # Bytes a socket may leave unread in this process's send buffer (beyond what the
    # kernel holds) before it is closed with `too_slow`: one client that stops reading
    # must not grow the server's memory without end. It resumes with ?after= later.
    "SEND_BUFFER_LIMIT": envint("SEND_BUFFER_LIMIT", 1024 * 1024),
}

# The audit log's key (moderation/audit_mac.py). Every entry is sealed with HMAC-SHA256 under
# it, so someone who can edit the database but does not hold the key cannot rewrite a round
# table's trail. Like SECRET_KEY it lives in the environment, never in the database, and the
# development key is refused when DEBUG is off. Rotation: the new key in AUDIT_KEY, the earlier
# ones in AUDIT_OLD_KEYS (comma-separated), kept for as long as their entries must verify.
DEV_AUDIT_KEY = "dev-only-insecure-audit-key-do-not-use-in-production"
AUDIT_KEY = os.environ.get("AUDIT_KEY", "").strip() or DEV_AUDIT_KEY
AUDIT_OLD_KEYS = envlist("AUDIT_OLD_KEYS", [])
AUDIT_KEY_MIN_LENGTH = 32
if not DEBUG and (AUDIT_KEY == DEV_AUDIT_KEY or len(AUDIT_KEY) < AUDIT_KEY_MIN_LENGTH):
    raise ImproperlyConfigured(
        "AUDIT_KEY is not set (or shorter than 32 characters). Set AUDIT_KEY to a long random "
        "value kept outside the database, or DEBUG=1 for local development only."
    )

# The secretariat's signing keys (forum/minutes/keys.py). SIGNING_KEY (the PEM value) or
# SIGNING_KEY_FILE (its path): the Ed25519 key that signs a submission package's manifest.
# SIGNING_CERT_FILE and SIGNING_CERT_KEY_FILE: the X.509 certificate (RSA or ECDSA) and its
# key that sign the package's PDF. Read here, so a wrong path or a broken key stops the start;
# with none set and DEBUG on, the development set `make run` creates under DATA_DIR/signing is
# used; with none set otherwise, submitting a package is refused (the error names the settings).


def _signing_material() -> tuple[bytes | None, bytes | None, bytes | None]:
    from forum.minutes import keys

    def read(name: str) -> bytes | None:
        path = os.environ.get(name, "").strip()
        if not path:
            return None
        try:
            return Path(path).read_bytes()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}: cannot read {path} ({exc.strerror}).") from None

    value = os.environ.get("SIGNING_KEY", "").strip()
    key = read("SIGNING_KEY_FILE")
    if value and key:
        raise ImproperlyConfigured("Set SIGNING_KEY or SIGNING_KEY_FILE, not both.")
    key = value.replace("\\n", "\n").encode("ascii") if value else key
    cert, cert_key = read("SIGNING_CERT_FILE"), read("SIGNING_CERT_KEY_FILE")
    if (cert is None) != (cert_key is None):
        raise ImproperlyConfigured(
            "Set both SIGNING_CERT_FILE and SIGNING_CERT_KEY_FILE, or neither."
        )
    development = DATA_DIR / "signing"
    if DEBUG and key is None and cert is None and (development / keys.DEVELOPMENT_KEY).exists():
        key = (development / keys.DEVELOPMENT_KEY).read_bytes()
        cert = (development / keys.DEVELOPMENT_CERT).read_bytes()
        cert_key = (development / keys.DEVELOPMENT_CERT_KEY).read_bytes()
    try:
        if key is not None:
            keys.load_signing_key(key, "SIGNING_KEY")
        if cert is not None:
            keys.check_certificate(cert, cert_key, "SIGNING_CERT_FILE")
    except keys.BadKey as exc:
        raise ImproperlyConfigured(str(exc)) from None
    return key, cert, cert_key


SIGNING_KEY_PEM, SIGNING_CERT_PEM, SIGNING_CERT_KEY_PEM = _signing_material()

# Days after the minutes are adopted before `purge_identities` erases the names, e-mail
# addresses and organizations of a round table's seats: the default of new round tables
# (the secretariat sets each one's own; 0 keeps them).
RETENTION_DAYS = envint("RETENTION_DAYS", 90)
if RETENTION_DAYS < 0:
    raise ImproperlyConfigured(f"RETENTION_DAYS must be 0 or more, not {RETENTION_DAYS}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
