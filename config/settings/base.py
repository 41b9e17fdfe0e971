"""Complete settings for ParkMe; dev, test and prod only override what differs.

Every value comes from the environment through one typed reader (django-environ). Names
follow the operators' production guide (see deploy/env.example for every variable).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

# No default here: dev and test fall back to a key made for this checkout (devservices),
# production refuses to start without one.
SECRET_KEY = env.str("SECRET_KEY", default="")
DEBUG = env.bool("DEBUG", default=False)
PARKME_ENVIRONMENT = "base"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=env.list("ALLOWED_HOSTS", default=[]))
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_celery_beat",
    "parkme",
    "facilities",
    "vehicles",
    "bookings",
    "parkme.webhooks",
]

MIDDLEWARE = [
    # First, so its latency covers the whole stack: per-view request counts and latency
    # under django-prometheus' series names (parkme.request_metrics).
    "parkme.request_metrics.RequestMetricsMiddleware",
    "parkme.middleware.RequestIDMiddleware",
    "parkme.middleware.BadInputMiddleware",
    "parkme.middleware_db.DatabaseRequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, with the site-wide policy string built once, not per response.
    "parkme.middleware.SitePolicyCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's, with the message storage made only when a view (the admin) uses it.
    "parkme.middleware.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "parkme.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out admin login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses a locked-out account + IP before any password check.
    "parkme.backends.AdminLoginGuard",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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

AUTH_USER_MODEL = "parkme.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "media"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- database -----------------------------------------------------------------------------
# DATABASE_URL, or else DATABASE_NAME/USER/PASSWORD/HOST/PORT (the production guide's names).
# When neither is set, dev and test fall back to the embedded server (see dev.py / test.py).


def parse_database_url(url: str) -> dict:
    """django-environ's parser, plus unix-socket hosts given percent-encoded
    (postgres://user@%2Fvar%2Frun%2Fpostgresql/name), which it leaves encoded."""
    from urllib.parse import unquote

    config = env.db_url_config(url)
    if "%" in str(config.get("HOST", "")):
        config["HOST"] = unquote(config["HOST"])
    return config


def database_url_from_env() -> str:
    url = env.str("DATABASE_URL", default="")
    if url:
        return url
    name = env.str("DATABASE_NAME", default="")
    if not name:
        return ""
    user = env.str("DATABASE_USER", default="postgres")
    password = env.str("DATABASE_PASSWORD", default="")
    host = env.str("DATABASE_HOST", default="127.0.0.1")
    port = env.int("DATABASE_PORT", default=5432)
    from urllib.parse import quote

    return f"postgres://{quote(user)}:{quote(password)}@{host}:{port}/{quote(name)}"


DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
DB_STATEMENT_TIMEOUT_MS = env.int("DB_STATEMENT_TIMEOUT_MS", default=30_000)
DATABASE_POOL = env.str("DATABASE_POOL", default="django")  # "django" or "pgbouncer"
# App servers that each run WEB_CONCURRENCY web workers and CELERY_CONCURRENCY Celery
# processes against this database: `manage.py check` warns when they may open more
# connections than PostgreSQL's max_connections (parkme.checks).
PARKME_APP_SERVERS = env.int("PARKME_APP_SERVERS", default=1)


def database_config(base: dict) -> dict:
    """Complete one DATABASES entry with ParkMe's connection options."""
    config = {**base, "ENGINE": "django.db.backends.postgresql"}
    options = dict(config.get("OPTIONS", {}))
    options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
    options.setdefault("options", f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}")
    if DATABASE_POOL == "pgbouncer":
        # pgbouncer in transaction mode pools for us; server-side cursors would break there.
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["CONN_MAX_AGE"] = 0
    else:
        options.setdefault(
            "pool",
            {
                "min_size": 1,
                "max_size": env.int("DB_POOL_MAX_SIZE", default=8),
                # When PostgreSQL is down, fail the request with a 503 in seconds instead of
                # psycopg_pool's default 30 s wait for a connection.
                "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
            },
        )
        config["CONN_MAX_AGE"] = 0  # required by Django's pool
    config["OPTIONS"] = options
    config.setdefault("CONN_HEALTH_CHECKS", False)
    return config


DATABASE_URL = database_url_from_env()
DATABASES = {"default": database_config(parse_database_url(DATABASE_URL))} if DATABASE_URL else {}

# --- read replicas (parkme.db_router) -------------------------------------------------------
# Comma-separated URLs; they become the aliases replica1, replica2, ... in that order.
DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
REPLICA_MAX_LAG_SECONDS = env.float("REPLICA_MAX_LAG_SECONDS", default=5.0)
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)
REPLICA_HEALTH_CACHE_SECONDS = env.float("REPLICA_HEALTH_CACHE_SECONDS", default=3.0)
REPLICA_CONNECT_TIMEOUT = env.int("REPLICA_CONNECT_TIMEOUT", default=2)


def replica_config(base: dict) -> dict:
    config = database_config(base)
    options = config["OPTIONS"]
    options["connect_timeout"] = min(int(options["connect_timeout"]), REPLICA_CONNECT_TIMEOUT)
    if "pool" in options:
        # A dead replica may cost one request seconds, never the pool's default 30 s wait.
        options["pool"] = {**options["pool"], "timeout": REPLICA_CONNECT_TIMEOUT}
    config["CONN_HEALTH_CHECKS"] = True  # a pooled connection is checked before each use
    config["TEST"] = {"MIRROR": "default"}
    return config


def replica_databases(urls: list[str]) -> dict:
    return {f"replica{n}": replica_config(parse_database_url(url)) for n, url in enumerate(urls, 1)}


if DATABASES:
    DATABASES.update(replica_databases(DATABASE_REPLICA_URLS))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
DATABASE_ROUTERS = ["parkme.db_router.ReplicaRouter"]
# Queries slower than this are logged with the request id; 0 turns the log off.
SLOW_QUERY_MS = env.int("SLOW_QUERY_MS", default=500)

# --- cache, Redis, Celery -----------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")


def cache_config(redis_url: str) -> dict:
    def alias(*, ignore_exceptions: bool) -> dict:
        return {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="parkme"),
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
                "IGNORE_EXCEPTIONS": ignore_exceptions,
            },
        }

    return {
        # A failing Redis degrades service (no cache) but never fails a request.
        "default": alias(ignore_exceptions=True),
        # Throttles see Redis errors so they can fail open *and say so* (parkme.api.throttles).
        "throttle": alias(ignore_exceptions=False),
    }


CACHES = cache_config(REDIS_URL) if REDIS_URL else {}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL
# django-celery-beat's DatabaseScheduler plus a heartbeat on every tick (parkme.beat).
CELERY_BEAT_SCHEDULER = "parkme.beat:HeartbeatScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=1)
# A task is acknowledged only once it has run, and a worker that dies mid-task hands it back:
# every task is idempotent, so running twice is safe and never running is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Each worker process is replaced after this many tasks, so a slow leak never grows unbounded.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=1000)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "bookings.deliver_notification": {"queue": "notifications"},
    "bookings.deliver_pending_notifications": {"queue": "notifications"},
    "bookings.expire_holds": {"queue": "maintenance"},
    "bookings.expire_no_shows": {"queue": "maintenance"},
    "bookings.flag_overstays": {"queue": "maintenance"},
    "bookings.send_start_reminders": {"queue": "maintenance"},
    "bookings.send_ending_soon_reminders": {"queue": "maintenance"},
    "bookings.roll_up_occupancy": {"queue": "maintenance"},
    "bookings.anonymize_old_bookings": {"queue": "maintenance"},
    "bookings.auto_check_out": {"queue": "maintenance"},
    "bookings.renew_permits": {"queue": "maintenance"},
    "bookings.expire_permits": {"queue": "maintenance"},
    "bookings.send_permit_reminders": {"queue": "maintenance"},
    "webhooks.deliver_endpoint": {"queue": "notifications"},
    "webhooks.deliver_pending": {"queue": "notifications"},
    "parkme.flush_expired_tokens": {"queue": "maintenance"},
    "parkme.backup_nightly": {"queue": "maintenance"},
    "parkme.restore_drill": {"queue": "maintenance"},
}
# Web requests enqueue after commit: a broker outage must cost them at most about a second
# (the outbox sweep delivers what could not be enqueued).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
    # Longer than any retry countdown, or Redis would hand a waiting retry to a second worker.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS: dict = {}
CELERY_REDIS_KEY_PREFIX = env.str("CELERY_REDIS_KEY_PREFIX", default="")
if CELERY_REDIS_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_REDIS_KEY_PREFIX
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS["global_keyprefix"] = CELERY_REDIS_KEY_PREFIX

# --- background work (bookings/sweeps.py, bookings/notifications.py) ----------------------
PARKME_BACKGROUND = {
    # Rows one sweep transaction claims, and how many such batches one task run may do.
    "SWEEP_BATCH_SIZE": env.int("SWEEP_BATCH_SIZE", default=500),
    "SWEEP_MAX_BATCHES": env.int("SWEEP_MAX_BATCHES", default=40),
    "REMINDER_BEFORE_START_MINUTES": env.int("REMINDER_BEFORE_START_MINUTES", default=30),
    "ENDING_SOON_MINUTES": env.int("ENDING_SOON_MINUTES", default=15),
    "NOTIFICATION_MAX_ATTEMPTS": env.int("NOTIFICATION_MAX_ATTEMPTS", default=6),
    "NOTIFICATION_RETRY_BACKOFF_SECONDS": env.int("NOTIFICATION_RETRY_BACKOFF_SECONDS", default=60),
    "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS": env.int(
        "NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS", default=900
    ),
    # The outbox sweep leaves fresh rows to the task enqueued on commit for this long.
    "NOTIFICATION_PENDING_AFTER_SECONDS": env.int("NOTIFICATION_PENDING_AFTER_SECONDS", default=60),
    # An active booking with no exit this long after ends_at + grace is checked out by a sweep.
    "AUTO_CHECKOUT_AFTER_HOURS": env.int("AUTO_CHECKOUT_AFTER_HOURS", default=12),
}

# --- e-mail -------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ParkMe <no-reply@parkme.local>")

# --- S3 -----------------------------------------------------------------------------------
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="")
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="")
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="eu-north-1")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage"}
# S3-compatible stores (MinIO, ...); empty means AWS itself.
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None

# --- backups (nightly task, restore drill, manage.py backup_db / restore_db) ---------------
BACKUP_S3_BUCKET = env.str("BACKUP_S3_BUCKET", default="") or AWS_STORAGE_BUCKET_NAME
BACKUP_S3_PREFIX = env.str("BACKUP_S3_PREFIX", default="backups/")
# Days backups are kept on S3; BACKUP_RETENTION_DAYS is the older name of the same setting.
BACKUP_S3_RETENTION_DAYS = env.int(
    "BACKUP_S3_RETENTION_DAYS", default=env.int("BACKUP_RETENTION_DAYS", default=90)
)
BACKUP_RETENTION_DAYS = BACKUP_S3_RETENTION_DAYS
# Empty: S3's default class; e.g. STANDARD_IA.
BACKUP_S3_STORAGE_CLASS = env.str("BACKUP_S3_STORAGE_CLASS", default="")
# The nightly task keeps a local copy here (on the worker host that ran it); empty: none.
BACKUP_LOCAL_DIR = env.str("BACKUP_LOCAL_DIR", default=str(BASE_DIR / ".local" / "backups"))
BACKUP_LOCAL_RETENTION_DAYS = env.int("BACKUP_LOCAL_RETENTION_DAYS", default=30)
# Local wall-clock times of the nightly backup and the weekly restore drill.
BACKUP_TIME = env.str("BACKUP_TIME", default="03:00")
BACKUP_TIME_ZONE = env.str("BACKUP_TIME_ZONE", default="Europe/Helsinki")
BACKUP_DRILL_DAY = env.str("BACKUP_DRILL_DAY", default="sunday")
BACKUP_DRILL_TIME = env.str("BACKUP_DRILL_TIME", default="05:00")
# Server (and maintenance database) the drill creates its scratch database on; empty: the
# default database's server, through the default connection (its role needs CREATEDB).
BACKUP_DRILL_DATABASE_URL = env.str("BACKUP_DRILL_DATABASE_URL", default="")
# Seconds before a backup or drill task gets SoftTimeLimitExceeded, and before it is killed.
BACKUP_TASK_SOFT_TIME_LIMIT = env.int("BACKUP_TASK_SOFT_TIME_LIMIT", default=7200)
BACKUP_TASK_TIME_LIMIT = env.int("BACKUP_TASK_TIME_LIMIT", default=7800)
# Where pg_dump/psql live when not in /usr/lib/postgresql/<major>/bin or on PATH.
PG_BIN_DIR = env.str("PG_BIN_DIR", default="")

# --- security (prod turns these on; names from the production guide) ----------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
# --- admin login brute-force protection (django-axes) ---------------------------------------
# The API's token endpoint has its own per-IP `auth` throttle; axes guards the admin login:
# after AXES_FAILURE_LIMIT wrong passwords for one account from one IP, that pair is locked
# out for AXES_COOLOFF_MINUTES (ops unlock it in the admin or with `manage.py axes_reset`).
AXES_ONLY_ADMIN_SITE = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# The client's address as the rest of ParkMe reads it (X-Forwarded-For up to NUM_PROXIES):
# behind nginx, REMOTE_ADDR is the proxy, and one lock would shut every client out.
AXES_CLIENT_IP_CALLABLE = "parkme.metrics.client_ip"

# --- Content-Security-Policy (django-csp) --------------------------------------------------
# Admin and API docs load nothing from other origins: Swagger UI is served from the app
# (drf-spectacular-sidecar), the dashboard's chart is inline SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
    },
}

SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "parkme.api.authentication.ParkMeJWTAuthentication",
    ],
    # Driver endpoints by default; public and gate views say otherwise.
    "DEFAULT_PERMISSION_CLASSES": ["parkme.api.permissions.DriverOrStaff"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["parkme.api.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "parkme.api.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "parkme.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "parkme.api.throttles.AnonThrottle",
        "parkme.api.throttles.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="100/hour"),
        "user": env.str("THROTTLE_USER", default="1000/hour"),
        "booking": env.str("THROTTLE_BOOKING", default="100/hour"),
        "booking_burst": env.str("THROTTLE_BOOKING_BURST", default="10/minute"),
        "auth": env.str("THROTTLE_AUTH", default="10/minute"),
        "gate": env.str("THROTTLE_GATE", default="3600/minute"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    # A rotated refresh token is spent: using it again is refused (401), and logout
    # blacklists the one it is given. Beat flushes expired blacklist rows nightly.
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ParkMe API",
    "DESCRIPTION": "Search, quote and book parking; gate events for operators.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from the app itself, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several fields are named "reason" or "status": name each set of choices once (the
    # booking's and the gate's keep the names clients were generated with).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "bookings.states.BookingStatus",
        "ReasonEnum": "bookings.api.views.GATE_REASONS",
        "EntitlementReasonEnum": "bookings.api.operator_views.ENTITLEMENT_REASONS",
        "PermitStatusEnum": "bookings.states.PermitStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "parkme.api.schema.add_error_responses",
    ],
}

# How long a quote's price is honoured by POST bookings/ with its quote_token.
QUOTE_TOKEN_MINUTES = env.int("QUOTE_TOKEN_MINUTES", default=15)

# --- booking rules (see docs/api.md) ------------------------------------------------------
PARKME_BOOKING = {
    "MIN_MINUTES": env.int("BOOKING_MIN_MINUTES", default=15),
    "MAX_DAYS": env.int("BOOKING_MAX_DAYS", default=30),
    "START_GRACE_PAST_MINUTES": env.int("BOOKING_START_PAST_MINUTES", default=5),
    "MAX_AHEAD_DAYS": env.int("BOOKING_MAX_AHEAD_DAYS", default=90),
    "MAX_LIVE_PER_DRIVER": env.int("BOOKING_MAX_LIVE_PER_DRIVER", default=5),
    "HOLD_MINUTES": env.int("BOOKING_HOLD_MINUTES", default=10),
    "CHECK_IN_EARLY_MINUTES": env.int("BOOKING_CHECK_IN_EARLY_MINUTES", default=15),
    "RETENTION_DAYS": env.int("PERSONAL_DATA_RETENTION_DAYS", default=400),
}
# Permits (monthly passes; see docs/api.md).
PARKME_PERMIT = {
    # A permit may start at most this many days ahead (never before today, local).
    "MAX_START_AHEAD_DAYS": env.int("PERMIT_MAX_START_AHEAD_DAYS", default=90),
    # Gate presence of permit holders counts entries and exits of the last N days.
    "PRESENCE_DAYS": env.int("PERMIT_PRESENCE_DAYS", default=30),
    # Holders are reminded this many days before their permit renews or ends.
    "REMINDER_DAYS": env.int("PERMIT_REMINDER_DAYS", default=7),
    # Auto-renewing permits are renewed within this many hours before their period ends.
    "RENEW_LEAD_HOURS": env.int("PERMIT_RENEW_LEAD_HOURS", default=24),
}
# Outbound webhooks to operators' systems (see the README's "Webhooks").
# http:// URLs and private, loopback and link-local addresses are refused unless this is on
# (development and tests, where the receivers run on this machine).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
PARKME_WEBHOOKS = {
    # A 2xx within this many seconds is a delivery; anything else is retried.
    "TIMEOUT_SECONDS": env.float("WEBHOOK_TIMEOUT_SECONDS", default=5.0),
    # Retries back off exponentially (with jitter) from BASE up to MAX seconds apart...
    "RETRY_BASE_SECONDS": env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0),
    "RETRY_MAX_SECONDS": env.float("WEBHOOK_RETRY_MAX_SECONDS", default=1800.0),
    # ...for this long after the event, then the delivery has failed.
    "RETRY_FOR_HOURS": env.float("WEBHOOK_RETRY_FOR_HOURS", default=24.0),
    # An endpoint is disabled (and its operator's admins told) after this many events in
    # a row failed.
    "DISABLE_AFTER_FAILURES": env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=20),
    # After "roll secret" the old secret keeps signing (alongside the new one) this long.
    "SECRET_OVERLAP_HOURS": env.int("WEBHOOK_SECRET_OVERLAP_HOURS", default=24),
    # The sweep re-queues pending deliveries this long overdue (lost task, broker down).
    "SWEEP_AFTER_SECONDS": env.int("WEBHOOK_SWEEP_AFTER_SECONDS", default=60),
}
SEARCH_DEFAULT_RADIUS_KM = 5
SEARCH_MAX_RADIUS_KM = 50
# sort=price prices every facility in the radius: at most this many, nearest first.
SEARCH_PRICE_SORT_MAX = env.int("SEARCH_PRICE_SORT_MAX", default=500)
API_CACHE_TTL_SECONDS = env.int("API_CACHE_TTL_SECONDS", default=60)
# Bodies of cached responses each process keeps, so an anonymous hit costs one Redis round
# trip and skips DRF (parkme.api.response_cache, parkme.api.views); 0 turns them off.
API_CACHE_LOCAL_BYTES = env.int("API_CACHE_LOCAL_BYTES", default=4 * 2**20)

# --- observability ------------------------------------------------------------------------
SENTRY_DSN = env.str("SENTRY_DSN", default="")
# One request or task in ten is traced (performance monitoring); 0 turns tracing off.
SENTRY_TRACES_SAMPLE_RATE = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.1)
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# /metrics answers these addresses or networks (client address as NUM_PROXIES allows), or a
# request with "Authorization: Bearer <METRICS_BEARER_TOKEN>"; everyone else gets a 403.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
METRICS_BEARER_TOKEN = env.str("METRICS_BEARER_TOKEN", default="")
METRICS_CELERY_QUEUES = env.list(
    "METRICS_CELERY_QUEUES", default=["celery", "notifications", "maintenance"]
)
# Request latency histogram buckets (seconds) of parkme.request_metrics; 0.3 is the p95
# alert line.
PROMETHEUS_LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
    float("inf"),
)  # fmt: skip
# Workers are pinged (waiting this long for replies) at most once per cache period.
MONITORING_WORKER_PING_SECONDS = env.float("MONITORING_WORKER_PING_SECONDS", default=0.5)
MONITORING_WORKER_CACHE_SECONDS = env.int("MONITORING_WORKER_CACHE_SECONDS", default=15)
# Beat records a heartbeat every ~10 s; older than this, readiness reports it degraded.
MONITORING_BEAT_STALE_SECONDS = env.int("MONITORING_BEAT_STALE_SECONDS", default=120)
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "text" or "json"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "parkme.logging.RequestIDFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
        "json": {"()": "parkme.logging.JSONFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        # Every admin login would log an INFO line; lockouts are WARNING and still show.
        "axes": {"level": "WARNING"},
    },
}

if SENTRY_DSN:
    from parkme.observability import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        release=SENTRY_RELEASE,
        environment=SENTRY_ENVIRONMENT,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
