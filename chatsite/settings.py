"""Parley settings: one module, driven by environment variables.

With no environment at all this is the *embedded default*: SQLite file, in-memory channel
layer, local file storage, DEBUG on, and a development secret key generated on first run into
an ignored local file. Production switches each piece on by env (see README "Configuration").
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


DEBUG = env_bool("DEBUG", True)


def _secret_key() -> str:
    if key := os.environ.get("SECRET_KEY"):
        return key
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    # Development only: a key generated once per checkout, kept out of git.
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # ASGI runserver for development
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "chatsite.realtime",
    "accounts",
    "rooms",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "chatsite.middleware.ContentSecurityPolicyMiddleware",
    "chatsite.middleware.NotFoundPageMiddleware",
    "chatsite.middleware.UserTimeZoneMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

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
                "chatsite.realtime.context_processors.event_kinds",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# DATABASE_URL=postgres://user@host:5432/name switches to PostgreSQL (psycopg 3).
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_int("DB_POOL_MAX_SIZE", 10):
    # Under ASGI every request and every WebSocket consumer runs in its own context, and
    # Django's connections are per context: with CONN_MAX_AGE > 0 each of them kept its own
    # PostgreSQL connection (500 sockets: "too many clients"). A per-process pool bounds them;
    # it replaces persistent connections (DB_POOL_MAX_SIZE=0 turns it off).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_MAX_SIZE", 10),
        "timeout": 10,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        # WAL + a busy timeout let the dev server's threads share the file without
        # "database is locked"; IMMEDIATE makes write transactions take the lock up front.
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_SOCKET_TIMEOUT = env_int("REDIS_SOCKET_TIMEOUT", 30)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, which equals channels-redis's
                # BZPOPMIN timeout: every idle receive then raised TimeoutError and killed the
                # consumer that happened to be reading. Longer than the pop, so only a dead
                # Redis times out.
                "hosts": [{"address": REDIS_URL, "socket_timeout": REDIS_SOCKET_TIMEOUT}],
                # Sized for fan-out bursts: one message per *process* per event lands here, so
                # capacity counts events, not recipients. The database stays the source of
                # truth; clients catch up by sequence number if anything is dropped.
                "capacity": env_int("CHANNEL_CAPACITY", 5000),
                "expiry": 60,
                "group_expiry": 1800,  # a dead process's hub channel leaves the group; live hubs re-join every 10 min
                "prefix": os.environ.get("CHANNEL_PREFIX", "parley"),
            },
        }
    }
else:
    # Single process only: the embedded default for `make run` and the first test pass.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_CAPACITY", 5000), "expiry": 60},
        }
    }

# --- Cache (throttling, rate limits) --------------------------------------------------------
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CHANNEL_PREFIX", "parley"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Failed log-ins allowed per sliding window before 429 (scheme: accounts/throttling.py): per
# username and client IP; per client IP; per username from anywhere (browsers that logged in to
# that account before are exempt from this ceiling, so it cannot lock the owner out).
LOGIN_THROTTLE_ATTEMPTS = env_int("LOGIN_THROTTLE_ATTEMPTS", 10)
LOGIN_THROTTLE_IP_ATTEMPTS = env_int("LOGIN_THROTTLE_IP_ATTEMPTS", 30)
LOGIN_THROTTLE_USER_CEILING = env_int("LOGIN_THROTTLE_USER_CEILING", 100)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 300)
# Registrations per client IP, and WebSocket tickets per user, per sliding window.
REGISTER_RATE_LIMIT = env_int("REGISTER_RATE_LIMIT", 10)
REGISTER_RATE_WINDOW = env_int("REGISTER_RATE_WINDOW", 3600)
# Password-reset requests per client IP, and per email address asked about (known or not, so
# the answer tells nothing), per sliding window.
PASSWORD_RESET_IP_LIMIT = env_int("PASSWORD_RESET_IP_LIMIT", 10)
PASSWORD_RESET_EMAIL_LIMIT = env_int("PASSWORD_RESET_EMAIL_LIMIT", 3)
PASSWORD_RESET_WINDOW = env_int("PASSWORD_RESET_WINDOW", 3600)
WS_TICKET_RATE_LIMIT = env_int("WS_TICKET_RATE_LIMIT", 30)
WS_TICKET_RATE_WINDOW = env_int("WS_TICKET_RATE_WINDOW", 60)
# Lifetime of a single-use WebSocket ticket.
WS_TICKET_TTL = env_int("WS_TICKET_TTL", 30)
# Addresses (IPs or CIDR networks) of reverse proxies whose X-Forwarded-For is believed; empty:
# forwarded headers are ignored and the peer address is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])

# --- Email (password-reset links) ----------------------------------------------------------
# Printed to the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Parley <parley@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "EXCEPTION_HANDLER": "chatsite.api_errors.exception_handler",
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Every token carries a digest of the password hash it was issued under; a password change
    # or reset makes the access tokens already out there fail at once, not when they expire.
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Parley API",
    "DESCRIPTION": "REST API of Parley. Real-time events: see docs/websocket.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No deep links: Swagger UI puts each operation's link inside its expand button, and a link
    # in a button is unreachable to assistive technology (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "COMPONENT_SPLIT_REQUEST": True,
    # <id:...> path parameters (chatsite.converters: at most 18 digits).
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}},
    # Error responses (400/401/403/404/429) of every operation, documented in one place.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatsite.api_errors.document_errors",
        "messaging.event_stream.document_event_stream",
    ],
}

# --- I18N / static / media ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if bucket := os.environ.get("AWS_STORAGE_BUCKET_NAME"):
    # S3 (or any S3-compatible store via AWS_S3_ENDPOINT_URL) for uploads.
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": os.environ.get("AWS_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("AWS_S3_REGION_NAME") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }

# --- Security (production is secure by default when DEBUG is off) ---------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# Health checks come over plain HTTP from inside the deployment (compose, a load balancer).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    # HSTS is sent only on HTTPS responses (Django's SecurityMiddleware), so it is on by default:
    # a deployment serving TLS gets it, one on plain HTTP behind nothing is unaffected.
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    if env_bool("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Search ----------------------------------------------------------------------------------
# PostgreSQL's text-search configuration for message search (stemming and stop words of this
# language; "simple" for none). Changing it needs the index rebuilt: the migration that builds
# it reads this value. SQLite's FTS5 index stems English (Porter) whatever this says.
SEARCH_LANGUAGE = os.environ.get("SEARCH_LANGUAGE", "english")
if not re.fullmatch(r"[a-z_]{1,63}", SEARCH_LANGUAGE):
    raise ImproperlyConfigured("SEARCH_LANGUAGE must be a text-search configuration name, e.g. english")

# --- Chat limits ----------------------------------------------------------------------------
MESSAGE_MAX_LENGTH = 10_000
# Seconds after sending during which a message may be edited: unset is no limit, 0 disables edits.
MESSAGE_EDIT_WINDOW = env_int("MESSAGE_EDIT_WINDOW", -1)
# Above this many members, only owners and admins may mention @room.
ROOM_MENTION_OPEN_MAX = env_int("ROOM_MENTION_OPEN_MAX", 15)
# Sends allowed per user per window (burst), over every interface.
SEND_RATE_LIMIT = env_int("SEND_RATE_LIMIT", 20)
SEND_RATE_WINDOW = env_int("SEND_RATE_WINDOW", 10)
# The page pings its socket this often, and a ping unanswered this long (the handshake too) means
# the connection is hung: the page drops it, shows the reconnect banner and reconnects.
WS_PING_INTERVAL_MS = env_int("WS_PING_INTERVAL_MS", 15000)
WS_PONG_TIMEOUT_MS = env_int("WS_PONG_TIMEOUT_MS", 10000)
# After WS_FALLBACK_AFTER WebSockets in a row fail to open, the page receives over the event
# stream (Server-Sent Events) and sends over REST; it tries a WebSocket again after
# WS_RETRY_MS (doubling, up to 8 times that), and goes back to it when one opens.
WS_FALLBACK_AFTER = env_int("WS_FALLBACK_AFTER", 3)
WS_RETRY_MS = env_int("WS_RETRY_MS", 30000)
# Reports of messages a user may file per window (seconds); reporting the same message again is free.
REPORT_RATE_LIMIT = env_int("REPORT_RATE_LIMIT", 20)
REPORT_RATE_WINDOW = env_int("REPORT_RATE_WINDOW", 3600)
# Attachments (messaging.uploads): bytes per file, files per message, uploads per user per window,
# the pixel limit past which an image is refused as a decompression bomb, a voice message's
# length, and how old an upload never attached to a message must be before cleanup_uploads
# removes it.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 25 * 1024 * 1024)
UPLOAD_MAX_PER_MESSAGE = env_int("UPLOAD_MAX_PER_MESSAGE", 10)
UPLOAD_RATE_LIMIT = env_int("UPLOAD_RATE_LIMIT", 30)
UPLOAD_RATE_WINDOW = env_int("UPLOAD_RATE_WINDOW", 60)
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 50_000_000)
UPLOAD_ABANDONED_HOURS = env_int("UPLOAD_ABANDONED_HOURS", 24)
# Image processing runs in this many worker processes per server process, each with its
# scheduling priority lowered by UPLOAD_NICE, so delivery keeps the CPU (messaging.processing).
UPLOAD_WORKERS = env_int("UPLOAD_WORKERS", 1)
UPLOAD_NICE = env_int("UPLOAD_NICE", 10)
VOICE_MAX_SECONDS = env_int("VOICE_MAX_SECONDS", 300)
# Seconds an S3 download link handed out by the access-checked view stays valid.
UPLOAD_URL_SECONDS = env_int("UPLOAD_URL_SECONDS", 60)
# Catch-up replays at most this many events; older cursors get {"type": "resync"}.
CATCHUP_MAX_EVENTS = env_int("CATCHUP_MAX_EVENTS", 1000)
# A quiet hub compares its last seq with the database this often, to find a lost last event.
HUB_GAP_CHECK_SECONDS = env_int("HUB_GAP_CHECK_SECONDS", 5)
# The Server-Sent Events fallback (/events/stream/): a comment line this often keeps an idle
# stream open through proxies (Zulip: 45 s; nginx's default read timeout is 60 s), and each user
# may hold at most this many streams per server process (tabs of browsers without WebSockets).
SSE_HEARTBEAT_SECONDS = env_float("SSE_HEARTBEAT_SECONDS", 30.0)
SSE_MAX_STREAMS_PER_USER = env_int("SSE_MAX_STREAMS_PER_USER", 10)
# A stream ends after this many seconds (0: never) and the client resumes it by Last-Event-ID.
SSE_MAX_SECONDS = env_float("SSE_MAX_SECONDS", 3600.0)
# Presence (chatsite.realtime.presence): each process refreshes its users every HEARTBEAT seconds;
# a process that dies leaves its users online for at most TTL seconds.
PRESENCE_HEARTBEAT_SECONDS = env_int("PRESENCE_HEARTBEAT_SECONDS", 10)
PRESENCE_TTL_SECONDS = env_int("PRESENCE_TTL_SECONDS", 30)
# A page reports its person away after this long without input (or at once when every tab is hidden).
PRESENCE_AWAY_SECONDS = env_int("PRESENCE_AWAY_SECONDS", 300)
# Presence changes are pushed at most once per person this often, and only to the members of their
# rooms (and DMs) of at most PUSH_MAX_MEMBERS; bigger rooms read presence when their member panel opens.
PRESENCE_PUSH_SECONDS = env_int("PRESENCE_PUSH_SECONDS", 3)
PRESENCE_PUSH_MAX_MEMBERS = env_int("PRESENCE_PUSH_MAX_MEMBERS", 50)
# Receipts (messaging.receipts) are shown per person ("seen by alice, bob +3") and pushed live in
# rooms and DMs of at most this many members; bigger rooms show how many have seen the latest message.
RECEIPTS_MAX_MEMBERS = env_int("RECEIPTS_MAX_MEMBERS", 20)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
