"""Settings for the Celery worker the background tests start: the test settings, pointed at
the test run's database (which only exists while pytest runs) and at a recording e-mail
backend whose log the test can read across processes."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES, env

_test_db = os.environ["PARKME_WORKER_DB_NAME"]
_server_db = DATABASES["default"]["NAME"]
for _alias in DATABASES.values():
    if _alias["NAME"] == _server_db:  # the primary and every replica that mirrors it
        _alias["NAME"] = _test_db

EMAIL_BACKEND = env.str(
    "PARKME_WORKER_EMAIL_BACKEND", default="tests.background.mailbox.RecordingBackend"
)
