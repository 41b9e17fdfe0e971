"""The nightly backup and the weekly restore drill (parkme.backup_jobs), against the real
PostgreSQL (pg_dump, psql, scratch databases); S3 is moto's."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import boto3
import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from moto import mock_aws

from bookings.models import Booking
from bookings.schedules import PREFIX, SCHEDULES
from parkme import tasks
from parkme.backup_jobs import (
    SKIPPED,
    backup_metrics,
    backup_nightly,
    backup_summary,
    job_lock,
    restore_drill,
    scratch_databases,
)
from parkme.backups import PgTarget, backup_key, backup_row_counts
from parkme.models import BackupRun
from tests import factories
from tests.concurrency import race

BUCKET = "parkme-backups-test"
PREFIX_S3 = "backups/"
DAY = timedelta(days=1)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def local_dir(settings, tmp_path) -> Path:
    directory = tmp_path / "backups"
    settings.BACKUP_LOCAL_DIR = str(directory)
    settings.BACKUP_LOCAL_RETENTION_DAYS = 30
    settings.BACKUP_S3_RETENTION_DAYS = 90
    settings.BACKUP_S3_STORAGE_CLASS = ""
    settings.BACKUP_DRILL_DATABASE_URL = ""
    return directory


@pytest.fixture
def s3(monkeypatch, settings, local_dir):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.AWS_S3_REGION_NAME = "eu-north-1"
    settings.AWS_S3_ENDPOINT_URL = None
    settings.BACKUP_S3_BUCKET = BUCKET
    settings.BACKUP_S3_PREFIX = PREFIX_S3
    with mock_aws():
        client = boto3.client("s3", region_name="eu-north-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        yield client


@pytest.fixture
def no_s3(settings, local_dir):
    settings.BACKUP_S3_BUCKET = ""
    return local_dir


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _bookings(n: int) -> None:
    for _ in range(n):
        factories.BookingFactory()


def _server() -> PgTarget:
    return PgTarget.from_alias("default")


def _databases() -> set[str]:
    with _server().connect() as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def _metrics(now) -> dict[str, float]:
    return {family.name: family.samples[0].value for family in backup_metrics(now=now)}


# --- the nightly backup ---------------------------------------------------------------------


def test_nightly_backup_stores_local_and_s3_copies_then_prunes_only_expired_backups(
    s3, local_dir, settings
):
    settings.BACKUP_S3_STORAGE_CLASS = "STANDARD_IA"
    _bookings(3)
    now = timezone.now()
    s3_old = backup_key(prefix=PREFIX_S3, at=now - 91 * DAY)
    s3_kept = backup_key(prefix=PREFIX_S3, at=now - 60 * DAY)  # past local, within S3 retention
    elsewhere = backup_key(prefix="reports/", at=now - 400 * DAY)
    for key in (s3_old, s3_kept, elsewhere, f"{PREFIX_S3}README.txt"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    local_dir.mkdir()
    local_old = local_dir / backup_key(prefix="", at=now - 31 * DAY)
    local_kept = local_dir / backup_key(prefix="", at=now - 29 * DAY)
    for path in (local_old, local_kept, local_dir / "notes.txt"):
        path.write_bytes(b"x")

    result = backup_nightly(now=now)

    assert result.status == "ok", result.detail
    name = backup_key(prefix="", at=now)
    assert _names(local_dir) == sorted([name, local_kept.name, "notes.txt"])
    key = f"{PREFIX_S3}{name}"
    assert _keys(s3) == sorted([key, s3_kept, elsewhere, f"{PREFIX_S3}README.txt"])
    head = s3.head_object(Bucket=BUCKET, Key=key)
    assert (head["StorageClass"], head["ServerSideEncryption"]) == ("STANDARD_IA", "AES256")
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert body == (local_dir / name).read_bytes()
    assert b"CREATE TABLE public.bookings_booking" in gzip.decompress(body)

    run = BackupRun.objects.get()
    assert (run.kind, run.ok, run.started_at) == ("backup", True, now)
    assert run.finished_at >= now
    assert (run.s3_url, run.local_path) == (f"s3://{BUCKET}/{key}", str(local_dir / name))
    assert run.size_bytes == len(body)
    assert run.table_counts["bookings_booking"] == 3
    assert run.table_counts == backup_row_counts(local_dir / name)
    assert "1 local copy(ies) older than 30 days" in run.detail
    assert "1 S3 backup(s) older than 90 days" in run.detail


def test_a_failed_upload_keeps_the_local_copy_deletes_nothing_and_is_recorded(
    s3, local_dir, settings
):
    settings.BACKUP_S3_BUCKET = "no-such-bucket"
    now = timezone.now()
    local_dir.mkdir()
    old = local_dir / backup_key(prefix="", at=now - 40 * DAY)
    old.write_bytes(b"x")

    with pytest.raises(Exception, match="NoSuchBucket"):
        tasks.backup_nightly.apply(throw=True)

    run = BackupRun.objects.get()
    assert run.ok is False
    assert "NoSuchBucket" in run.detail
    assert old.exists()  # retention waits for a backup stored everywhere
    (new,) = set(_names(local_dir)) - {old.name}
    assert run.local_path == str(local_dir / new)
    assert _metrics(timezone.now())["parkme_backup_last_success_timestamp_seconds"] == 0


def test_without_anywhere_to_keep_backups_the_run_fails_and_says_what_to_set(settings):
    settings.BACKUP_S3_BUCKET = ""
    settings.BACKUP_LOCAL_DIR = ""

    result = backup_nightly()

    assert result.status == "failed"
    assert "BACKUP_LOCAL_DIR" in result.detail
    assert "BACKUP_S3_BUCKET" in result.detail
    assert BackupRun.objects.get().ok is False


def test_a_run_while_another_holds_the_lock_is_skipped_and_does_nothing(s3, local_dir):
    with job_lock(BackupRun.Kind.BACKUP) as got:
        assert got
        result = backup_nightly()
        drill_meanwhile = job_lock(BackupRun.Kind.DRILL)  # the drill has its own lock
        with drill_meanwhile as drill_got:
            assert drill_got

    assert (result.status, result.detail) == ("skipped", SKIPPED)
    assert not local_dir.exists()
    assert _keys(s3) == []
    assert not BackupRun.objects.exists()


def test_two_concurrent_nightly_runs_make_one_backup(s3, local_dir):
    _bookings(2)
    results = race([backup_nightly] * 2)

    assert sorted(r.status for r in results) == ["ok", "skipped"]
    assert len(_keys(s3)) == 1
    assert len(_names(local_dir)) == 1
    assert BackupRun.objects.filter(kind="backup").count() == 1


def test_backup_db_uses_the_s3_retention_and_storage_class(s3, settings, capsys):
    settings.BACKUP_S3_STORAGE_CLASS = "STANDARD_IA"
    now = timezone.now()
    old = backup_key(prefix=PREFIX_S3, at=now - 91 * DAY)
    kept = backup_key(prefix=PREFIX_S3, at=now - 89 * DAY)
    for key in (old, kept):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    call_command("backup_db")

    keys = _keys(s3)
    assert old not in keys
    (new,) = set(keys) - {kept}
    assert s3.head_object(Bucket=BUCKET, Key=new)["StorageClass"] == "STANDARD_IA"
    assert f"will delete s3://{BUCKET}/{old} (older than 90 days)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "90 30"),
        ({"BACKUP_RETENTION_DAYS": "30"}, "30 30"),
        ({"BACKUP_RETENTION_DAYS": "30", "BACKUP_S3_RETENTION_DAYS": "120"}, "120 30"),
    ],
)
def test_s3_retention_is_90_days_unless_the_older_backup_retention_days_says_otherwise(
    env, expected
):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_")}
    out = subprocess.run(  # noqa: S603 - our own interpreter on our own settings module
        [
            sys.executable,
            "-c",
            "import config.settings.base as s; "
            "print(s.BACKUP_S3_RETENTION_DAYS, s.BACKUP_LOCAL_RETENTION_DAYS)",
        ],
        cwd=django_settings.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == expected


# --- the restore drill ----------------------------------------------------------------------


def test_the_drill_restores_the_latest_backup_counts_match_and_the_scratch_db_is_dropped(s3):
    now = timezone.now()
    _bookings(2)
    assert backup_nightly(now=now - DAY).status == "ok"
    _bookings(1)
    assert backup_nightly(now=now).status == "ok"
    _bookings(2)  # after the latest backup: the drill checks what the backup holds
    before = _databases()

    result = restore_drill(now=now + timedelta(hours=2))

    assert result.status == "ok", result.detail
    drill = BackupRun.objects.get(kind="drill")
    assert drill.ok is True
    assert drill.s3_url == f"s3://{BUCKET}/{backup_key(prefix=PREFIX_S3, at=now)}"
    assert drill.table_counts["bookings_booking"] == 3
    assert Booking.objects.count() == 5
    assert drill.table_counts == BackupRun.objects.get(kind="backup", started_at=now).table_counts
    assert drill.table_counts["django_migrations"] > 0
    assert "match" in drill.detail
    assert _databases() == before  # the scratch database is gone
    assert scratch_databases(_server()) == []
    values = _metrics(now + timedelta(hours=3))
    assert values["parkme_restore_drill_last_ok"] == 1
    assert values["parkme_restore_drill_age_seconds"] == pytest.approx(3600, abs=120)


def test_a_corrupted_latest_backup_fails_the_drill_which_still_drops_its_database(s3):
    now = timezone.now()
    _bookings(2)
    assert backup_nightly(now=now - DAY).status == "ok"
    assert restore_drill(now=now - DAY).status == "ok"
    assert backup_nightly(now=now).status == "ok"
    key = backup_key(prefix=PREFIX_S3, at=now)
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=BUCKET, Key=key, Body=body[: len(body) // 2])  # cut short in transit

    with pytest.raises(Exception, match="damaged"):
        tasks.restore_drill.apply(throw=True)

    latest = BackupRun.objects.filter(kind="drill").order_by("-started_at").first()
    assert latest.ok is False
    assert "damaged" in latest.detail
    assert latest.s3_url == f"s3://{BUCKET}/{key}"
    assert scratch_databases(_server()) == []
    values = _metrics(timezone.now())
    assert values["parkme_restore_drill_last_ok"] == 0
    assert values["parkme_restore_drill_last_success_timestamp_seconds"] == pytest.approx(
        BackupRun.objects.get(kind="drill", ok=True).finished_at.timestamp()
    )
    summary = backup_summary()
    assert summary["drill"]["ok"] is False
    assert "damaged" in summary["drill"]["detail"]


def test_the_drill_uses_the_local_copies_without_a_bucket_and_cleans_up_after_a_killed_drill(
    no_s3,
):
    _bookings(1)
    assert backup_nightly().status == "ok"
    killed = BackupRun.objects.create(kind="drill", started_at=timezone.now() - DAY)
    server = _server()
    leftover = f"{server.dbname}_drill_20200101t000000"
    with server.connect() as conn:
        conn.execute(f'CREATE DATABASE "{leftover}"')
    assert scratch_databases(server) == [leftover]

    result = restore_drill()

    assert result.status == "ok", result.detail
    drill = BackupRun.objects.filter(kind="drill", ok=True).get()
    assert drill.local_path == BackupRun.objects.get(kind="backup").local_path
    assert drill.table_counts["bookings_booking"] == 1
    killed.refresh_from_db()
    assert killed.ok is False
    assert "did not finish" in killed.detail
    assert scratch_databases(server) == []


def test_the_drill_creates_its_scratch_database_on_the_configured_server(no_s3, settings):
    server = _server()
    host = quote(server.host or "localhost", safe="")
    settings.BACKUP_DRILL_DATABASE_URL = (
        f"postgres://{quote(server.user)}:{quote(server.password)}@{host}:{server.port or 5432}"
        "/postgres"
    )
    _bookings(2)
    assert backup_nightly().status == "ok"

    result = restore_drill()

    assert result.status == "ok", result.detail
    assert BackupRun.objects.get(kind="drill").table_counts["bookings_booking"] == 2
    assert scratch_databases(PgTarget.from_url(settings.BACKUP_DRILL_DATABASE_URL)) == []


def test_the_drill_without_any_backup_fails_and_says_where_it_looked(s3):
    result = restore_drill()

    assert result.status == "failed"
    assert f"no backup found under s3://{BUCKET}/{PREFIX_S3}" in result.detail
    assert BackupRun.objects.get(kind="drill").ok is False


def test_restore_db_of_a_truncated_backup_leaves_the_target_empty(no_s3, tmp_path):
    _bookings(2)
    backup_nightly()
    (path,) = no_s3.iterdir()
    broken = tmp_path / "broken.sql.gz"
    data = path.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.9)])
    server = _server()
    name = f"{server.dbname}_restore_cut"
    with server.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with pytest.raises(CommandError, match="damaged"):
            call_command("restore_db", str(broken), target_database=name, commit=True)
        with PgTarget.from_alias("default", dbname=name).connect() as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()[0]
        assert tables == 0  # nothing half-restored was committed
    finally:
        with server.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- metrics, summary, schedules, admin -----------------------------------------------------


def test_metric_families_have_the_contract_names_and_values():
    now = timezone.now()
    nothing = _metrics(now)
    assert nothing == {
        "parkme_backup_last_success_timestamp_seconds": 0,
        "parkme_backup_last_size_bytes": 0,
        "parkme_backup_age_seconds": pytest.approx(now.timestamp()),
        "parkme_restore_drill_last_success_timestamp_seconds": 0,
        "parkme_restore_drill_last_ok": 0,
        "parkme_restore_drill_age_seconds": pytest.approx(now.timestamp()),
    }

    def run(kind, *, hours_ago, ok, size=None):
        finished = now - timedelta(hours=hours_ago)
        return BackupRun.objects.create(
            kind=kind,
            started_at=finished - timedelta(minutes=5),
            finished_at=finished,
            ok=ok,
            size_bytes=size,
            s3_url=f"s3://b/{kind}-{hours_ago}" if kind == "backup" else "",
        )

    good = run("backup", hours_ago=26, ok=True, size=1234)
    run("backup", hours_ago=2, ok=False)
    run("drill", hours_ago=72, ok=True)
    run("drill", hours_ago=24, ok=False)
    BackupRun.objects.create(kind="backup", started_at=now)  # going now: not counted yet

    values = _metrics(now)

    assert values == {
        "parkme_backup_last_success_timestamp_seconds": good.finished_at.timestamp(),
        "parkme_backup_last_size_bytes": 1234,
        "parkme_backup_age_seconds": pytest.approx(26 * 3600),
        "parkme_restore_drill_last_success_timestamp_seconds": (
            now - timedelta(hours=72)
        ).timestamp(),
        "parkme_restore_drill_last_ok": 0,
        "parkme_restore_drill_age_seconds": pytest.approx(72 * 3600),
    }
    summary = backup_summary(now=now)
    assert summary["backup"]["ok"] is False  # the latest finished backup failed
    assert summary["backup"]["age_seconds"] == pytest.approx(26 * 3600)
    assert summary["backup"]["last_success_at"] == good.finished_at.isoformat()
    assert summary["drill"]["age_seconds"] == pytest.approx(72 * 3600)
    run("drill", hours_ago=1, ok=True)
    assert _metrics(now)["parkme_restore_drill_last_ok"] == 1


def _setup_schedules() -> str:
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return out.getvalue()


def test_setup_schedules_installs_both_backup_jobs_at_the_configured_local_time(settings):
    backup = SCHEDULES[f"{PREFIX}nightly backup"]  # the defaults
    assert (backup.crontab, backup.timezone) == ({"minute": "0", "hour": "3"}, "Europe/Helsinki")
    settings.BACKUP_TIME = "02:15"
    settings.BACKUP_TIME_ZONE = "America/New_York"
    settings.BACKUP_DRILL_DAY = "Saturday"
    settings.BACKUP_DRILL_TIME = "6:40"

    _setup_schedules()

    nightly = PeriodicTask.objects.get(name=f"{PREFIX}nightly backup")
    drill = PeriodicTask.objects.get(name=f"{PREFIX}restore drill")
    assert (nightly.task, drill.task) == ("parkme.backup_nightly", "parkme.restore_drill")
    cron = nightly.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == (
        "15",
        "2",
        "*",
        "America/New_York",
    )
    cron = drill.crontab
    assert (cron.minute, cron.hour, cron.day_of_week, str(cron.timezone)) == (
        "40",
        "6",
        "6",
        "America/New_York",
    )
    assert str(PeriodicTask.objects.get(name=f"{PREFIX}flush expired tokens").crontab.timezone) == (
        "UTC"
    )
    for task in ("parkme.backup_nightly", "parkme.restore_drill"):
        assert django_settings.CELERY_TASK_ROUTES[task] == {"queue": "maintenance"}

    settings.BACKUP_TIME = "03:00"
    assert "updated  parkme: nightly backup: crontab" in _setup_schedules()


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("BACKUP_TIME", "3am", "BACKUP_TIME must be a time of day HH:MM"),
        ("BACKUP_TIME_ZONE", "Mars/Olympus", "BACKUP_TIME_ZONE must be a time zone name"),
        ("BACKUP_DRILL_DAY", "someday", "BACKUP_DRILL_DAY must be a weekday"),
    ],
)
def test_setup_schedules_names_a_bad_backup_setting(settings, setting, value, message):
    setattr(settings, setting, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        _setup_schedules()
    assert not PeriodicTask.objects.exists()


def test_backup_runs_are_read_only_in_the_admin_and_only_for_superusers(client):
    run = BackupRun.objects.create(
        kind="backup", started_at=timezone.now(), ok=True, detail="stored somewhere"
    )
    staff = factories.UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/parkme/backuprun/").status_code == 403

    ops = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(ops)
    listing = client.get("/admin/parkme/backuprun/")
    assert listing.status_code == 200
    page = client.get(f"/admin/parkme/backuprun/{run.pk}/change/")
    assert page.status_code == 200
    assert b"stored somewhere" in page.content
    assert b'name="_save"' not in page.content
    assert client.get("/admin/parkme/backuprun/add/").status_code == 403
    assert client.post(
        f"/admin/parkme/backuprun/{run.pk}/delete/", {"post": "yes"}
    ).status_code == (403)
    assert BackupRun.objects.filter(pk=run.pk).exists()
