"""Development: debug on, embedded PostgreSQL and Redis unless the environment names servers."""

from .base import *  # noqa: F403
from .base import CACHES, DATABASES, SECRET_KEY, cache_config, database_config, env

DEBUG = env.bool("DEBUG", default=True)
PARKME_ENVIRONMENT = "development"
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
# Development: webhook receivers may run on this machine (http, 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=True)

if not SECRET_KEY:
    from parkme import devservices

    SECRET_KEY = devservices.local_secret_key()

if not DATABASES:
    from parkme import devservices

    DATABASES = {"default": database_config(devservices.postgres_settings())}

if not CACHES:
    from parkme import devservices

    REDIS_URL = devservices.redis_url(0)
    CACHES = cache_config(REDIS_URL)
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or REDIS_URL

# No collectstatic outside production: serve straight from the apps.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
