"""backup_db and restore_db against the real PostgreSQL; S3 is moto's."""

from __future__ import annotations

import gzip
from datetime import timedelta

import boto3
import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone
from moto import mock_aws
from psycopg import sql

from parkme.backups import PgTarget, backup_key
from tests import factories

BUCKET = "parkme-backups-test"


@pytest.fixture
def s3(monkeypatch, settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.AWS_S3_REGION_NAME = "eu-north-1"
    settings.BACKUP_S3_BUCKET = BUCKET
    settings.BACKUP_S3_PREFIX = "backups/"
    with mock_aws():
        client = boto3.client("s3", region_name="eu-north-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        yield client


def _keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def fresh_database(django_db_blocker):
    """An empty database on the test server, dropped afterwards."""
    default = connections["default"].settings_dict
    name = f"{default['NAME']}_restore"
    admin = PgTarget.from_settings(default, dbname="postgres")
    with django_db_blocker.unblock(), admin.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield PgTarget.from_settings(default, dbname=name)
    with django_db_blocker.unblock(), admin.connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _row_counts(target: PgTarget) -> dict[str, int]:
    with target.connect() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        count = sql.SQL("SELECT count(*) FROM {}")
        return {t: conn.execute(count.format(sql.Identifier(t))).fetchone()[0] for t in tables}


@pytest.mark.django_db(transaction=True)
def test_backup_to_s3_then_restore_into_a_fresh_database_gives_equal_row_counts(
    s3, fresh_database, capsys
):
    spot = factories.SpotFactory()
    factories.RateVersionFactory(facility=spot.facility)
    for _ in range(3):
        factories.BookingFactory(spot=factories.SpotFactory(zone=spot.zone))
    factories.MembershipFactory()

    call_command("backup_db")
    (key,) = _keys(s3)
    assert key.startswith("backups/parkme-")
    assert key.endswith(".sql.gz")

    call_command("restore_db", f"s3://{BUCKET}/{key}", target_database=fresh_database.dbname)
    assert "dry run" in capsys.readouterr().out
    assert _row_counts(fresh_database) == {}  # a dry run touches nothing

    call_command(
        "restore_db", f"s3://{BUCKET}/{key}", target_database=fresh_database.dbname, commit=True
    )
    source = _row_counts(PgTarget.from_alias("default"))
    restored = _row_counts(fresh_database)
    assert restored == source
    assert restored["bookings_booking"] == 3
    assert restored["django_migrations"] > 0


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_has_tables(tmp_path, fresh_database):
    dump = tmp_path / "parkme.sql.gz"
    call_command("backup_db", output=str(dump))
    call_command("restore_db", str(dump), target_database=fresh_database.dbname, commit=True)
    before = _row_counts(fresh_database)
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore_db", str(dump), target_database=fresh_database.dbname, commit=True)
    assert _row_counts(fresh_database) == before


@pytest.mark.django_db
def test_retention_deletes_only_expired_parkme_backups_and_dry_run_deletes_nothing(s3, capsys):
    now = timezone.now()
    old = backup_key(prefix="backups/", at=now - timedelta(days=40))
    recent = backup_key(prefix="backups/", at=now - timedelta(days=5))
    for key in (old, recent, "backups/README.txt"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")

    call_command("backup_db", dry_run=True, keep_days=30)
    plan = capsys.readouterr().out
    assert f"would delete s3://{BUCKET}/{old}" in plan
    assert recent not in plan
    assert _keys(s3) == sorted([old, recent, "backups/README.txt"])

    call_command("backup_db", keep_days=30)
    keys = _keys(s3)
    assert old not in keys
    assert recent in keys
    assert "backups/README.txt" in keys
    (new,) = set(keys) - {recent, "backups/README.txt"}
    body = s3.get_object(Bucket=BUCKET, Key=new)["Body"].read()
    assert b"CREATE TABLE public.bookings_booking" in gzip.decompress(body)


def test_backup_without_a_bucket_says_what_to_set(settings):
    settings.BACKUP_S3_BUCKET = ""
    with pytest.raises(CommandError, match="BACKUP_S3_BUCKET"):
        call_command("backup_db")
