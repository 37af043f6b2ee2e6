"""Settings, read only from environment variables (and `.env` when present).

Every variable is listed, with its default, in the README and in `.env.example`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from convosensei.broker import no_retry
from convosensei.env import env_bool, env_float, env_hosts, env_int, env_list, env_str, env_time_zone, env_url
from convosensei.logformat import JSON_FORMATTER
from convosensei.queues import TASK_ROUTES, Queue
from convosensei.schedule import BEAT_SCHEDULE

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env", override=False)

from convosensei.embedded import embedded_postgres_start, embedded_redis_url, project_var_dir  # noqa: E402

VAR_DIR = project_var_dir()

# --- Core -------------------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is false "
            "(a command on make run's local data: prefix it with DJANGO_DEBUG=true)"
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 (only ever with DEBUG on)
elif not DEBUG and (SECRET_KEY.startswith("change-me") or len(SECRET_KEY) < 32):
    # It signs the sessions, keys the API-key cache's HMAC and encrypts the stored Slack webhook URL.
    raise ImproperlyConfigured(
        (
            "DJANGO_SECRET_KEY is still the placeholder of .env.example"
            if SECRET_KEY.startswith("change-me")
            else f"DJANGO_SECRET_KEY is {len(SECRET_KEY)} characters long, too short to keep secrets"
        )
        + ": set it to 50 or more random characters, "
        "for example the output of: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
# Earlier secret keys, still accepted for what they signed or encrypted (sessions, the stored Slack webhook URL),
# so that DJANGO_SECRET_KEY can be rotated: the new key first, the old one here until nothing needs it.
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
# The zone the team reads the dashboard in: pages and the admin show times in it
# (convosensei.middleware.DashboardTimeZoneMiddleware), the overview draws its days and the weekly usage patterns
# take their weeks in it. The JSON API keeps UTC.
DASHBOARD_TIME_ZONE = env_time_zone("DASHBOARD_TIME_ZONE", "UTC")
DASHBOARD_BASE_URL = env_url("DASHBOARD_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [DASHBOARD_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "convosensei",
    "accounts",
    "conversations",
    "ingestion",
    "analytics",
    "alerts",
]

MIDDLEWARE = [
    "convosensei.middleware.RequestLogMiddleware",
    "convosensei.middleware.HealthProbeMiddleware",  # before anything that checks the Host header
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "convosensei.middleware.NeverCacheMiddleware",  # after WhiteNoise: static files stay cacheable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "convosensei.middleware.DashboardTimeZoneMiddleware",
    "convosensei.middleware.HtmxLoginRedirectMiddleware",
    "convosensei.middleware.ApiExceptionMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it answers a locked-out login
]

ROOT_URLCONF = "convosensei.urls"
WSGI_APPLICATION = "convosensei.wsgi.application"

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
                "django.template.context_processors.tz",  # TIME_ZONE: the zone the page's times are in
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------

DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql"))
if DATABASE_URL:
    default_database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        # No health check query per request (a round trip each); a connection that broke is closed
        # at the end of the request that found it broken, and the next one reconnects.
        conn_health_checks=False,
    )
    # libpq verifies the server certificate against this CA file even with sslmode=require.
    ssl_root_cert = env_str("DATABASE_SSLROOTCERT")
    if ssl_root_cert:
        default_database.setdefault("OPTIONS", {})["sslrootcert"] = ssl_root_cert
else:
    EMBEDDED_POSTGRES = embedded_postgres_start(data_dir=VAR_DIR / "postgres")
    default_database = EMBEDDED_POSTGRES.django_database()
    default_database.update(CONN_MAX_AGE=60)
default_database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 5))
# A database host that vanishes without closing its connections (a failover to another address, a machine that
# crashed) would leave a statement waiting on TCP's own give-up, ~15 minutes on Linux, and a web thread or a worker
# with it. libpq's socket options end such a connection within DATABASE_TCP_TIMEOUT seconds instead: data the host
# does not acknowledge (tcp_user_timeout), or an idle connection whose keepalive probes go unanswered. A slow query
# is not cut: the host's system acknowledges the query and the probes while PostgreSQL works. Over a Unix socket
# (the embedded PostgreSQL) libpq ignores them.
DATABASE_TCP_TIMEOUT = env_int("DATABASE_TCP_TIMEOUT", 30, minimum=0)
if DATABASE_TCP_TIMEOUT:
    for option, value in {
        "keepalives": 1,
        "keepalives_idle": max(1, DATABASE_TCP_TIMEOUT // 2),
        "keepalives_interval": max(1, DATABASE_TCP_TIMEOUT // 6),
        "keepalives_count": 3,
        "tcp_user_timeout": DATABASE_TCP_TIMEOUT * 1000,  # milliseconds
    }.items():
        default_database["OPTIONS"].setdefault(option, value)
DATABASES = {"default": default_database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -----------------------------------------------------------------------------

# Unset, a command run beside `make run` (replay_dead_letters) uses its embedded Redis: tasks sent to the default
# would reach whatever Redis listens there, or none, and no worker of this installation.
REDIS_URL = env_url(
    "REDIS_URL",
    embedded_redis_url(data_dir=VAR_DIR / "redis") or "redis://127.0.0.1:6379/0",
    schemes=("redis", "rediss", "unix"),
)
# Short timeouts: a Redis that is down or hangs must never hold up a request for long.
REDIS_SOCKET_TIMEOUT = env_float("REDIS_SOCKET_TIMEOUT", 0.25, minimum=0.05)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "cs",
        "OPTIONS": {
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "retry": no_retry(),  # see convosensei/broker.py: a Redis that is down must fail fast
        },
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT = "convosensei.broker:Transport"  # kombu's Redis transport, failing fast
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = DASHBOARD_TIME_ZONE  # crontab schedules (the weekly usage patterns) run on local time
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_PREFETCH_MULTIPLIER", 4, minimum=1)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # A task not acknowledged within this time (worker died mid-task) is delivered again.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60),
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    # A publisher tries a lost broker connection again once, at once, and then gives up: ingestion
    # must not wait on a broker that is down (the sweep enqueues later). Workers reconnect on their own.
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.2,
}
CELERY_TASK_DEFAULT_QUEUE = Queue.PROCESS_CONVERSATION.value
CELERY_TASK_ROUTES = TASK_ROUTES
# django-celery-beat's database scheduler, run by one beat at a time (a second waits as a standby: convosensei/beat.py).
CELERY_BEAT_SCHEDULER = "convosensei.beat:SingleBeatScheduler"
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE

# --- Authentication -----------------------------------------------------------------------------------

SUPABASE_URL = env_url("SUPABASE_URL", schemes=("http", "https"))
SUPABASE_JWT_SECRET = env_str("SUPABASE_JWT_SECRET")
SUPABASE_ANON_KEY = env_str("SUPABASE_ANON_KEY")
SUPABASE_SERVICE_ROLE_KEY = env_str("SUPABASE_SERVICE_ROLE_KEY")
# Who a valid token lets in: every user of the Supabase project holds one (the chatbot's own users too, when they sign
# in with the same project), so only the users listed here, by id (`sub`), reach the dashboard API.
SUPABASE_ADMIN_USER_IDS = frozenset(user_id.lower() for user_id in env_list("SUPABASE_ADMIN_USER_IDS", []))
SUPABASE_JWT_AUDIENCE = "authenticated"
SUPABASE_JWT_LEEWAY_SECONDS = env_int("SUPABASE_JWT_LEEWAY_SECONDS", 10, minimum=0, maximum=300)
SUPABASE_JWKS_CACHE_SECONDS = env_int("SUPABASE_JWKS_CACHE_SECONDS", 600, minimum=1)
SUPABASE_JWKS_TIMEOUT_SECONDS = env_float("SUPABASE_JWKS_TIMEOUT_SECONDS", 2.0, minimum=0.1)

# Password guessing on the dashboard's and the admin's login (django-axes, the maintained library for it): after
# LOGIN_FAILED_ATTEMPTS failures for one username from one address, that pair is refused for LOGIN_LOCKOUT_MINUTES
# (a 429 page saying so), whatever the password; a success clears the count. The address is REMOTE_ADDR, or behind
# TRUSTED_PROXY_COUNT reverse proxies the client's from X-Forwarded-For (convosensei/client_address.py); behind a
# proxy not counted there every client has the proxy's address, and the lockout is per username. Attempts are rows
# in the database (the admin's "Access attempts"); `manage.py axes_reset` lifts every lockout.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out pair before any password is hashed
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILED_ATTEMPTS = env_int("LOGIN_FAILED_ATTEMPTS", 5, minimum=1, maximum=1000)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=7 * 24 * 60)
AXES_FAILURE_LIMIT = LOGIN_FAILED_ATTEMPTS
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
AXES_CLIENT_IP_CALLABLE = "convosensei.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Only the counts that lock out: a log of sign-ins is `user_security_logs`' place in the schema, not a second table.
AXES_DISABLE_ACCESS_LOG = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# --- Ingestion -------------------------------------------------------------------------------------------

INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
INGEST_MAX_BATCH_CONVERSATIONS = env_int("INGEST_MAX_BATCH_CONVERSATIONS", 100, minimum=1, maximum=1000)
INGEST_MAX_MESSAGES_PER_CONVERSATION = env_int("INGEST_MAX_MESSAGES_PER_CONVERSATION", 1000, minimum=1)
INGEST_MAX_CONTENT_CHARS = env_int("INGEST_MAX_CONTENT_CHARS", 32_000, minimum=1)
INGEST_MAX_METADATA_BYTES = env_int("INGEST_MAX_METADATA_BYTES", 16 * 1024, minimum=2)
# How far ahead of the server's clock a message timestamp may be (clients' clocks drift); later ones get a 400.
INGEST_MAX_CLOCK_SKEW_SECONDS = env_int("INGEST_MAX_CLOCK_SKEW_SECONDS", 300, minimum=0, maximum=86_400)
# Requests per minute per API key; 0 turns the limit off.
INGEST_RATE_LIMIT_PER_MINUTE = env_int("INGEST_RATE_LIMIT_PER_MINUTE", 6000, minimum=0)
# Failed attempts with one API key prefix per minute before the next gets a 429 instead of an argon2 verification
# (accounts.services.api_key_verify); 0 turns it off.
API_KEY_FAILED_ATTEMPTS_PER_MINUTE = env_int("API_KEY_FAILED_ATTEMPTS_PER_MINUTE", 10, minimum=0)
REDACT_PII = env_bool("REDACT_PII", False)
# Django refuses bodies above this before our own 413 could answer; keep it above the ingest limit.
DATA_UPLOAD_MAX_MEMORY_SIZE = INGEST_MAX_BODY_BYTES + 1024

# --- Analytics ----------------------------------------------------------------------------------------------

# A conversation without a new message for this long is over: it gets its final scoring.
CONVERSATION_IDLE_MINUTES = env_int("CONVERSATION_IDLE_MINUTES", 30, minimum=1)
# Conversations whose last message is older than this many days are deleted each night (0: kept for good).
CONVERSATION_RETENTION_DAYS = env_int("CONVERSATION_RETENTION_DAYS", 0, minimum=0)
# Conversations still unscored this long after their last change are enqueued again by the sweep.
SWEEP_UNSCORED_AFTER_SECONDS = env_int("SWEEP_UNSCORED_AFTER_SECONDS", 60, minimum=0)
TASK_MAX_RETRIES = env_int("TASK_MAX_RETRIES", 5, minimum=0)
# Retry n waits a random time up to min(TASK_RETRY_BACKOFF_SECONDS * 2**n, TASK_RETRY_BACKOFF_MAX_SECONDS).
TASK_RETRY_BACKOFF_SECONDS = env_int("TASK_RETRY_BACKOFF_SECONDS", 2, minimum=1)
TASK_RETRY_BACKOFF_MAX_SECONDS = env_int("TASK_RETRY_BACKOFF_MAX_SECONDS", 300, minimum=1)
# Usage patterns: the most clusters a period is split into, and how similar (cosine of centroids) a
# pattern must be to one of the previous period to keep its identity (lineage).
PATTERN_MAX_CLUSTERS = env_int("PATTERN_MAX_CLUSTERS", 20, minimum=2, maximum=200)
PATTERN_LINEAGE_MIN_SIMILARITY = env_float("PATTERN_LINEAGE_MIN_SIMILARITY", 0.8, minimum=0.0)
if PATTERN_LINEAGE_MIN_SIMILARITY > 1:
    raise ImproperlyConfigured("PATTERN_LINEAGE_MIN_SIMILARITY must be at most 1 (a cosine similarity)")

# --- Alerts -----------------------------------------------------------------------------------------------

# Hosts (`host` or `host:port`; without a port only 443) a Slack webhook URL may point at, always over
# https. Production needs only Slack's; the tests add their local HTTPS stand-in.
SLACK_WEBHOOK_HOSTS = env_hosts("SLACK_WEBHOOK_HOSTS", ["hooks.slack.com"])

# --- Features -------------------------------------------------------------------------------------------

FEATURE_EMBEDDINGS = env_bool("FEATURE_EMBEDDINGS", False)

# --- API --------------------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SupabaseJWTAuthentication",
        "accounts.authentication.DashboardSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["convosensei.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "convosensei.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ConvoSensei API",
    "DESCRIPTION": "Ingest chatbot conversations and read their health, failures and usage patterns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",  # the default hook, kept
        "convosensei.openapi.empty_query_value_means_unset",
    ],
}

# --- Security headers -------------------------------------------------------------------------------------

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# /healthz and /readyz are answered before this redirect (convosensei.middleware.HealthProbeMiddleware): load
# balancers probe over plain HTTP.
if env_bool("DJANGO_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# --- Static files, i18n -------------------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # the JSON API, the database session and the logs; pages use DASHBOARD_TIME_ZONE
USE_I18N = True
USE_TZ = True

# --- Logging: one JSON line per record, on stderr --------------------------------------------------------------

# Python's warnings (a library's, a naive datetime's) become records of the `py.warnings` logger, in the same JSON
# lines, rather than plain text among them: Django does not route them.
logging.captureWarnings(True)
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": JSON_FORMATTER},
    "filters": {
        "without_traceback": {"()": "convosensei.logformat.WithoutTraceback"},
        "as_warning": {"()": "convosensei.logformat.AsWarning"},
        "without_503": {"()": "convosensei.logformat.Without503"},
        "database_outage": {"()": "convosensei.logformat.DatabaseOutage"},
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # The request log below says the same, once, without query strings.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR", "filters": ["without_503"]},
        # urllib3 logs each request's URL at DEBUG, and a Slack webhook URL is a credential (so is its path).
        "urllib3": {"level": "INFO"},
        "django.security.DisallowedHost": {"filters": ["without_traceback", "as_warning"]},
        # django-axes: its failed-login and lockout warnings, not a line at each process start and each clean-up.
        "axes": {"level": "WARNING"},
        # A database out of reach: one line a minute, not beat's traceback every 5 s and one per failing task.
        "django_celery_beat.schedulers": {"filters": ["database_outage"]},
        "celery.app.trace": {"filters": ["database_outage"]},
    },
}
