"""Production: every secret from the environment, no embedded servers, HTTPS everywhere.

Start-up stops with a message naming the variable when a required one is missing.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    CELERY_RESULT_BACKEND,
    DATABASE_REPLICA_URLS,
    DATABASE_URL,
    cache_config,
    database_config,
    env,
    parse_database_url,
    replica_databases,
)


def _required(name: str, value: object) -> object:
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set: production settings (config.settings.prod) need it. "
            "See deploy/env.example."
        )
    return value


DEBUG = env.bool("DEBUG", default=False)
PARKME_ENVIRONMENT = "production"
SECRET_KEY = _required("SECRET_KEY", env.str("SECRET_KEY", default=""))
ALLOWED_HOSTS = _required(
    "DJANGO_ALLOWED_HOSTS",
    env.list("DJANGO_ALLOWED_HOSTS", default=env.list("ALLOWED_HOSTS", default=[])),
)
_required("DATABASE_URL", DATABASE_URL)
DATABASES = {"default": database_config(parse_database_url(DATABASE_URL))}
DATABASES.update(replica_databases(DATABASE_REPLICA_URLS))
DATABASE_REPLICAS = [alias for alias in DATABASES if alias != "default"]
REDIS_URL = _required("REDIS_URL", env.str("REDIS_URL", default=""))
CACHES = cache_config(REDIS_URL)
CELERY_BROKER_URL = CELERY_BROKER_URL or REDIS_URL
CELERY_RESULT_BACKEND = CELERY_RESULT_BACKEND or REDIS_URL

LOG_FORMAT = env.str("LOG_FORMAT", default="json")
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_REFERRER_POLICY = "same-origin"
# /health/ is probed over plain HTTP by load balancers.
SECURE_REDIRECT_EXEMPT = [r"^health/"]
