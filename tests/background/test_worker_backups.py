"""The backup task family through a real `celery worker` process on the real Redis broker:
the nightly backup writes its local copy and records the run, and the restore drill
restores that copy into a scratch database and drops it. (S3 is covered with moto in
tests/ops/test_backup_jobs.py; moto cannot reach into the worker process.)"""

from __future__ import annotations

import pytest

from parkme import tasks
from parkme.backup_jobs import scratch_databases
from parkme.backups import PgTarget, backup_row_counts
from parkme.models import BackupRun
from tests import factories

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TIMEOUT = 120


def test_nightly_backup_and_restore_drill_run_on_a_worker(tmp_path, start_worker):
    for _ in range(3):
        factories.BookingFactory()
    backups = tmp_path / "backups"
    start_worker(
        env={
            "BACKUP_LOCAL_DIR": str(backups),
            "BACKUP_S3_BUCKET": "",
            "AWS_STORAGE_BUCKET_NAME": "",
            "BACKUP_DRILL_DATABASE_URL": "",
        }
    )

    backed_up = tasks.backup_nightly.delay().get(timeout=TIMEOUT)
    drilled = tasks.restore_drill.delay().get(timeout=TIMEOUT)

    assert backed_up["status"] == "ok", backed_up
    (copy,) = backups.glob("parkme-*.sql.gz")
    assert backup_row_counts(copy)["bookings_booking"] == 3
    run = BackupRun.objects.get(kind="backup")
    assert (run.ok, run.local_path, run.size_bytes) == (True, str(copy), copy.stat().st_size)

    assert drilled["status"] == "ok", drilled
    drill = BackupRun.objects.get(kind="drill")
    assert (drill.ok, drill.local_path) == (True, str(copy))
    assert drill.table_counts == run.table_counts
    assert scratch_databases(PgTarget.from_alias("default")) == []
