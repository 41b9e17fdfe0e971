"""Test: the real PostgreSQL and Redis (embedded unless the environment names servers)."""

from .base import *  # noqa: F403
from .base import (
    CACHES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS,
    DATABASE_REPLICAS,
    DATABASES,
    REST_FRAMEWORK,
    SECRET_KEY,
    cache_config,
    database_config,
    env,
    replica_config,
)

DEBUG = False
PARKME_ENVIRONMENT = "test"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests deliver webhooks to receivers on 127.0.0.1; the SSRF tests turn this off.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=True)
LOG_LEVEL = "WARNING"

if not SECRET_KEY:
    from parkme import devservices

    SECRET_KEY = devservices.local_secret_key()

if not DATABASES:
    from parkme import devservices

    DATABASES = {"default": database_config(devservices.postgres_settings())}

# Tests use their own Redis database so a running `make run` keeps its cache.
if not CACHES:
    from parkme import devservices

    REDIS_URL = devservices.redis_url(1)
else:
    REDIS_URL = env.str("REDIS_URL")
CACHES = cache_config(REDIS_URL)
CACHES["default"]["KEY_PREFIX"] = "parkme-test"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        # Generous by default so suites do not trip them; throttle tests lower them explicitly.
        "anon": "100000/hour",
        "user": "100000/hour",
        "booking": "100000/hour",
        "booking_burst": "100000/minute",
        "auth": "100000/minute",
    },
}

# Parallel runs on one server (helpers, CI matrix) each name their own test database.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default="test_parkme")}

# Tests never need a real replica: each replica (and "replica" when none is configured)
# mirrors the primary, so request tests run through the router. tests/ops starts a real one.
if not DATABASE_REPLICAS:
    DATABASES["replica"] = replica_config(dict(DATABASES["default"]))
    DATABASE_REPLICAS = ["replica"]
for _alias in DATABASE_REPLICAS:
    DATABASES[_alias]["TEST"] = {"MIRROR": "default"}
CACHES["default"]["KEY_PREFIX"] = env.str("TEST_CACHE_PREFIX", default="parkme-test")
CACHES["throttle"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"]
# Each run's tasks travel under its own Redis key prefix, so a `make run` worker or another
# run's worker on the same Redis never takes them.
_celery_prefix = f"{CACHES['default']['KEY_PREFIX']}-celery:"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "global_keyprefix": _celery_prefix,
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    **CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS,
    "global_keyprefix": _celery_prefix,
}

# No collectstatic outside production: serve straight from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
