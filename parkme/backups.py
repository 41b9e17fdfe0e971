"""Database backups: pg_dump → gzip → S3 (or a file), retention, and restore into an empty
database. Also finds PostgreSQL client programs that match the server's major version.

Dumps are plain SQL without owners or grants, so they restore under any role. Connection
details travel in PG* environment variables, never on a command line another user can read.

Every dump starts with a comment line carrying the row counts of the main tables, counted in
the very snapshot pg_dump dumps (a REPEATABLE READ transaction exports it, counts, and hands
it to ``pg_dump --snapshot``), so a restore can be checked exactly however busy the source
was. psql skips the line like any comment.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connections
from psycopg import sql

_CHUNK = 1 << 20
_KEY_TIME = re.compile(r"parkme-(\d{8}T\d{6}Z)\.sql\.gz$")
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")
_HEADER = b"-- parkme-backup: "
# Tables whose row counts a backup records and a restore drill checks (those that exist).
MAIN_TABLES = (
    "django_migrations",
    "parkme_user",
    "parkme_operator",
    "parkme_membership",
    "facilities_facility",
    "facilities_zone",
    "facilities_spot",
    "facilities_rateversion",
    "vehicles_vehicle",
    "bookings_booking",
    "bookings_bookingevent",
    "bookings_permitproduct",
    "bookings_permit",
    "bookings_gateevent",
    "bookings_notification",
    "webhooks_webhookendpoint",
)


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: str
    user: str
    password: str
    dbname: str

    @classmethod
    def from_settings(cls, settings_dict: dict, *, dbname: str | None = None) -> PgTarget:
        return cls(
            host=str(settings_dict.get("HOST") or ""),
            port=str(settings_dict.get("PORT") or ""),
            user=str(settings_dict.get("USER") or ""),
            password=str(settings_dict.get("PASSWORD") or ""),
            dbname=dbname or str(settings_dict["NAME"]),
        )

    @classmethod
    def from_alias(cls, alias: str = "default", *, dbname: str | None = None) -> PgTarget:
        return cls.from_settings(connections[alias].settings_dict, dbname=dbname)

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        """postgres://user:password@host:port/dbname; a unix-socket directory as the host is
        given percent-encoded (postgres://user@%2Fvar%2Frun%2Fpostgresql/dbname)."""
        from urllib.parse import unquote

        import environ

        config = environ.Env.db_url_config(url)
        config["HOST"] = unquote(str(config.get("HOST") or ""))
        return cls.from_settings(config)

    def env(self) -> dict[str, str]:
        values = {
            "PGHOST": self.host,
            "PGPORT": self.port,
            "PGUSER": self.user,
            "PGPASSWORD": self.password,
            "PGDATABASE": self.dbname,
            "PGCONNECT_TIMEOUT": "10",
        }
        return {k: v for k, v in values.items() if v}

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host or None,
            port=self.port or None,
            user=self.user or None,
            password=self.password or None,
            dbname=self.dbname,
            connect_timeout=10,
            autocommit=True,
        )

    def describe(self) -> str:
        return f"database {self.dbname!r} on {self.host or 'localhost'}:{self.port or 5432}"


# --- PostgreSQL programs ------------------------------------------------------------------


def server_major_version(target: PgTarget) -> int:
    with target.connect() as conn:
        return conn.info.server_version // 10000


def _candidate_bindirs(major: int) -> Iterator[Path]:
    configured = getattr(settings, "PG_BIN_DIR", "")
    if configured:
        yield Path(configured)
    yield Path(f"/usr/lib/postgresql/{major}/bin")
    yield Path(f"/usr/pgsql-{major}/bin")
    try:
        from pgserver._commands import POSTGRES_BIN_PATH  # dev and test only
    except ImportError:
        pass
    else:
        yield Path(POSTGRES_BIN_PATH)
    for program in ("pg_dump", "pg_config"):
        found = shutil.which(program)
        if found:
            yield Path(found).resolve().parent


def _major_of(program: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - a PostgreSQL program we located ourselves
            [str(program), "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    return int(match.group(1)) if match else None


def pg_program(name: str, *, major: int, exact: bool = False) -> Path:
    """A PostgreSQL program of the server's major version (or newer, unless ``exact``)."""
    seen: list[str] = []
    fallback: Path | None = None
    for bindir in _candidate_bindirs(major):
        program = bindir / name
        if not program.exists() or str(program) in seen:
            continue
        seen.append(str(program))
        found = _major_of(program)
        if found == major:
            return program
        if found is not None and found > major and not exact and fallback is None:
            fallback = program
    if fallback is not None:
        return fallback
    raise BackupError(
        f"no {name} for PostgreSQL {major} found (looked in PG_BIN_DIR, "
        f"/usr/lib/postgresql/{major}/bin and PATH; found: {', '.join(seen) or 'none'})"
    )


# --- dump and restore ---------------------------------------------------------------------


def count_rows(conn: psycopg.Connection, tables: tuple[str, ...] = MAIN_TABLES) -> dict[str, int]:
    """Rows of each of ``tables`` that exists in the public schema."""
    present = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename = ANY(%s) ORDER BY tablename",
            [list(tables)],
        )
    ]
    query = sql.SQL("SELECT count(*) FROM public.{}")
    counts = {}
    for table in present:
        row = conn.execute(query.format(sql.Identifier(table))).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


@dataclass(frozen=True)
class DumpResult:
    size: int
    row_counts: dict[str, int]


def backup_dump_counted(*, target: PgTarget, out_path: Path) -> DumpResult:
    """Write a gzipped plain-SQL dump of ``target`` to ``out_path``, headed by the row counts
    of the main tables in the snapshot that was dumped."""
    pg_dump = pg_program("pg_dump", major=server_major_version(target))
    with target.connect() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot_row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert snapshot_row is not None  # noqa: S101 - the function returns one row
        counts = count_rows(conn)
        header = json.dumps({"row_counts": counts}, sort_keys=True, separators=(",", ":"))
        # The exporting transaction stays open until pg_dump is done with the snapshot.
        with (
            tempfile.TemporaryFile() as errors,
            gzip.open(out_path, "wb") as out,
            subprocess.Popen(  # noqa: S603
                [
                    str(pg_dump),
                    "--format=plain",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot_row[0]}",
                ],
                stdout=subprocess.PIPE,
                stderr=errors,
                env={"PATH": "/usr/bin:/bin", **target.env()},
            ) as proc,
        ):
            out.write(_HEADER + header.encode() + b"\n")
            assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
            while chunk := proc.stdout.read(_CHUNK):
                out.write(chunk)
            if proc.wait() != 0:
                errors.seek(0)
                raise BackupError(
                    f"pg_dump failed: {errors.read().decode(errors='replace')[:2000]}"
                )
    return DumpResult(size=out_path.stat().st_size, row_counts=counts)


def backup_dump(*, target: PgTarget, out_path: Path) -> int:
    """Write a gzipped plain-SQL dump of ``target`` to ``out_path``; return its size."""
    return backup_dump_counted(target=target, out_path=out_path).size


def backup_row_counts(dump_path: Path) -> dict[str, int] | None:
    """The row counts a dump was made with (None for a dump without them)."""
    try:
        with gzip.open(dump_path, "rb") as dump:
            first = dump.readline(1 << 16)
    except (OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{dump_path.name} is not a readable gzip file: {exc}") from exc
    if not first.startswith(_HEADER):
        return None
    try:
        counts = json.loads(first[len(_HEADER) :])["row_counts"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{dump_path.name} has a damaged row-count header") from exc
    return {str(table): int(rows) for table, rows in counts.items()}


def database_is_empty(target: PgTarget) -> bool:
    with target.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchone()
    return row is not None and row[0] == 0


def backup_restore(*, target: PgTarget, dump_path: Path) -> None:
    """Load a gzipped dump into ``target``, which must hold no tables (all or nothing)."""
    if not database_is_empty(target):
        raise BackupError(f"{target.describe()} is not empty; restore only into a new database")
    psql = pg_program("psql", major=server_major_version(target))
    with (
        tempfile.TemporaryFile() as errors,
        gzip.open(dump_path, "rb") as dump,
        subprocess.Popen(  # noqa: S603
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-f", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env={"PATH": "/usr/bin:/bin", **target.env()},
        ) as proc,
    ):
        assert proc.stdin is not None  # noqa: S101 - stdin=PIPE
        try:
            while chunk := dump.read(_CHUNK):
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # psql stopped on an error; its exit status and stderr say which
        except BaseException as exc:
            # A damaged file (or a time limit) mid-way: psql must never see the end of its
            # input, or --single-transaction would commit what it got so far.
            proc.kill()
            proc.wait()
            if isinstance(exc, (OSError, EOFError, zlib.error)):
                raise BackupError(f"restore failed: the backup file is damaged ({exc})") from exc
            raise
        finally:
            with contextlib.suppress(OSError):  # psql gone: what it did not read is moot
                proc.stdin.close()
        if proc.wait() != 0:
            errors.seek(0)
            raise BackupError(f"restore failed: {errors.read().decode(errors='replace')[:2000]}")


# --- S3 -----------------------------------------------------------------------------------


def s3_client():
    import boto3

    return boto3.client(
        "s3",
        region_name=settings.AWS_S3_REGION_NAME or None,
        endpoint_url=getattr(settings, "AWS_S3_ENDPOINT_URL", "") or None,
    )


def split_s3_url(url: str) -> tuple[str, str]:
    """'s3://bucket/some/key' → ('bucket', 'some/key')."""
    if not url.startswith("s3://") or "/" not in url[5:]:
        raise BackupError(f"{url!r} is not an s3://bucket/key address")
    bucket, key = url[5:].split("/", 1)
    if not bucket or not key:
        raise BackupError(f"{url!r} is not an s3://bucket/key address")
    return bucket, key


def backup_key(*, prefix: str, at: datetime) -> str:
    return f"{prefix}parkme-{at.astimezone(UTC):%Y%m%dT%H%M%SZ}.sql.gz"


def backup_taken_at(name: str) -> datetime | None:
    """When a ParkMe backup (key or file name) was taken; None for any other name."""
    match = _KEY_TIME.search(name)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def backup_expired_keys(
    *, client, bucket: str, prefix: str, keep_days: int, now: datetime
) -> list[str]:
    """ParkMe backups under ``prefix`` older than ``keep_days``; other objects never match."""
    cutoff = now - timedelta(days=keep_days)
    expired = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            match = _KEY_TIME.search(item["Key"])
            if not match:
                continue
            taken = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            if taken < cutoff:
                expired.append(item["Key"])
    return sorted(expired)


@dataclass(frozen=True)
class BackupPlan:
    source: PgTarget
    destination: str
    expired: list[str]


def backup_plan(
    *, target: PgTarget, bucket: str, prefix: str, keep_days: int, now: datetime, client=None
) -> BackupPlan:
    client = client or s3_client()
    return BackupPlan(
        source=target,
        destination=f"s3://{bucket}/{backup_key(prefix=prefix, at=now)}",
        expired=backup_expired_keys(
            client=client, bucket=bucket, prefix=prefix, keep_days=keep_days, now=now
        ),
    )


def backup_upload(*, client, path: Path, bucket: str, key: str, storage_class: str = "") -> None:
    """Upload a backup file, encrypted at rest, in ``storage_class`` (empty: S3's default)."""
    extra = {"ServerSideEncryption": "AES256"}
    if storage_class:
        extra["StorageClass"] = storage_class
    client.upload_file(str(path), bucket, key, ExtraArgs=extra)


def backup_to_s3(*, plan: BackupPlan, client=None, storage_class: str = "") -> int:
    """Carry out a plan: dump, upload, then delete the expired backups. Returns the size.

    Expired backups go only after the new one is safely stored.
    """
    client = client or s3_client()
    bucket, key = split_s3_url(plan.destination)
    with tempfile.TemporaryDirectory(prefix="parkme-backup-") as tmp:
        path = Path(tmp) / Path(key).name
        size = backup_dump(target=plan.source, out_path=path)
        backup_upload(client=client, path=path, bucket=bucket, key=key, storage_class=storage_class)
    for old in plan.expired:
        client.delete_object(Bucket=bucket, Key=old)
    return size


def backup_fetch(*, source: str, workdir: Path, client=None) -> Path:
    """A local path for ``source`` (a file, or s3://bucket/key downloaded into workdir)."""
    if not source.startswith("s3://"):
        path = Path(source)
        if not path.is_file():
            raise BackupError(f"no backup file at {source}")
        return path
    bucket, key = split_s3_url(source)
    path = workdir / Path(key).name
    (client or s3_client()).download_file(bucket, key, str(path))
    return path
