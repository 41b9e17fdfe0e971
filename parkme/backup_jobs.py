"""The nightly backup and the weekly restore drill, their run records (BackupRun) and metrics.

Beat runs both on the maintenance queue (parkme.tasks; schedules in bookings/schedules.py):

- ``backup_nightly``: one dump (parkme.backups: gzip, row counts of the main tables taken in
  the dumped snapshot); a local copy in BACKUP_LOCAL_DIR, an upload to S3 (SSE, optional
  storage class) when a bucket is configured; then, and only when everything was stored,
  local copies older than BACKUP_LOCAL_RETENTION_DAYS and S3 copies older than
  BACKUP_S3_RETENTION_DAYS are deleted (only ParkMe backup names, never other files).
- ``restore_drill``: restores the latest backup (S3 when a bucket is configured, else the
  local directory) into a scratch database ``<db>_drill_<time>``, compares the row counts of
  the main tables with those the backup recorded, and drops the scratch database whatever
  happened.

Each job holds a PostgreSQL advisory lock for as long as it runs (a transaction-level lock on
its own connection, so it also works through pgbouncer and goes away with a killed worker);
a second run meanwhile does nothing and answers "skipped: already running". Every run that
got the lock is recorded as a BackupRun; a run that never finished is marked failed by the
next one of its kind.
"""

from __future__ import annotations

import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric
from psycopg import sql

from parkme.backups import (
    BackupError,
    PgTarget,
    backup_dump_counted,
    backup_expired_keys,
    backup_fetch,
    backup_key,
    backup_restore,
    backup_row_counts,
    backup_taken_at,
    backup_upload,
    count_rows,
    s3_client,
)
from parkme.models import BackupRun

logger = logging.getLogger(__name__)

# Advisory lock keys (class, object); bookings.allocations uses classes 72_001 and 72_002.
_LOCK_CLASS = 72_100
_LOCK_KEYS: dict[str, int] = {BackupRun.Kind.BACKUP.value: 1, BackupRun.Kind.DRILL.value: 2}
SKIPPED = "skipped: already running"
_UNFINISHED = "did not finish: its worker was killed or hit the hard time limit"


@dataclass(frozen=True)
class JobResult:
    status: str  # "ok", "failed" or "skipped"
    detail: str
    run_id: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@contextmanager
def job_lock(kind: str) -> Iterator[bool]:
    """True when this process now runs ``kind`` alone (until the block ends), else False.

    The lock lives in an open transaction on a connection of its own: it is released when
    the block ends, and by PostgreSQL when the process dies.
    """
    target = PgTarget.from_alias("default")
    with target.connect() as conn, conn.transaction():
        conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        row = conn.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_CLASS, _LOCK_KEYS[kind]]
        ).fetchone()
        yield bool(row and row[0])


def _begin(kind: str, now: datetime) -> BackupRun:
    # We hold the lock: a run of this kind still marked as going is dead.
    BackupRun.objects.filter(kind=kind, ok__isnull=True).update(
        ok=False, finished_at=now, detail=_UNFINISHED
    )
    return BackupRun.objects.create(kind=kind, started_at=now)


def _finish(run: BackupRun, *, started: float, ok: bool, detail: str) -> JobResult:
    run.ok = ok
    run.detail = detail
    run.finished_at = run.started_at + timedelta(seconds=time.monotonic() - started)
    run.save()
    log = logger.info if ok else logger.error
    log("%s %s: %s", run.get_kind_display(), "done" if ok else "FAILED", detail)
    return JobResult(status="ok" if ok else "failed", detail=detail, run_id=run.pk)


def _failure(exc: BaseException) -> str:
    if isinstance(exc, BackupError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- the nightly backup ---------------------------------------------------------------------


def local_backups(directory: Path) -> list[tuple[datetime, Path]]:
    """ParkMe backup files in ``directory``, oldest first (other files are never listed)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        taken = backup_taken_at(path.name)
        if taken is not None and path.is_file() and path.name.startswith("parkme-"):
            found.append((taken, path))
    return sorted(found)


def _prune_local(directory: Path, *, keep_days: int, now: datetime) -> list[Path]:
    cutoff = now - timedelta(days=keep_days)
    expired = [path for taken, path in local_backups(directory) if taken < cutoff]
    for path in expired:
        path.unlink(missing_ok=True)
    return expired


def _run_job(
    kind: str, now: datetime | None, work: Callable[[BackupRun, datetime], tuple[bool, str]]
) -> JobResult:
    """One run of ``kind``: alone under its lock (else skipped), recorded as a BackupRun,
    any exception recorded as its failure."""
    now = now or timezone.now()
    label = BackupRun.Kind(kind).label
    with job_lock(kind) as got:
        if not got:
            logger.info("%s %s", label, SKIPPED)
            return JobResult(status="skipped", detail=SKIPPED)
        run = _begin(kind, now)
        started = time.monotonic()
        try:
            ok, detail = work(run, now)
        except Exception as exc:  # noqa: BLE001 - recorded and reported as a failed run
            logger.exception("%s failed", label)
            return _finish(run, started=started, ok=False, detail=_failure(exc))
        return _finish(run, started=started, ok=ok, detail=detail)


def backup_nightly(*, now: datetime | None = None) -> JobResult:
    """Dump the database once, store it locally and on S3, then apply both retentions."""
    return _run_job(BackupRun.Kind.BACKUP, now, lambda run, at: (True, _backup(run, now=at)))


def _backup(run: BackupRun, *, now: datetime) -> str:
    local_dir = Path(settings.BACKUP_LOCAL_DIR) if settings.BACKUP_LOCAL_DIR else None
    bucket = settings.BACKUP_S3_BUCKET
    if local_dir is None and not bucket:
        raise BackupError("nowhere to keep backups: set BACKUP_LOCAL_DIR or BACKUP_S3_BUCKET")
    name = backup_key(prefix="", at=now)
    with ExitStack() as stack:
        if local_dir is not None:
            local_dir.mkdir(parents=True, exist_ok=True)
            work = local_dir / f".{name}.partial"  # never matches a backup name
            stack.callback(work.unlink, missing_ok=True)
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="parkme-"))) / name
        dumped = backup_dump_counted(target=PgTarget.from_alias("default"), out_path=work)
        run.size_bytes = dumped.size
        run.table_counts = dumped.row_counts
        stored = []
        if local_dir is not None:
            # In place before the upload: a failed upload still leaves a good local copy.
            final = work.replace(local_dir / name)
            run.local_path = str(final)
            run.save(update_fields=["size_bytes", "table_counts", "local_path"])
            stored.append(str(final))
        if bucket:
            client = s3_client()
            key = backup_key(prefix=settings.BACKUP_S3_PREFIX, at=now)
            storage_class = settings.BACKUP_S3_STORAGE_CLASS
            backup_upload(
                client=client,
                path=local_dir / name if local_dir is not None else work,
                bucket=bucket,
                key=key,
                storage_class=storage_class,
            )
            run.s3_url = f"s3://{bucket}/{key}"
            stored.append(f"{run.s3_url} ({storage_class or 'STANDARD'})")
    run.save(update_fields=["size_bytes", "table_counts", "local_path", "s3_url"])

    # Everything is stored: only now do old backups go.
    deleted = []
    if local_dir is not None:
        keep = settings.BACKUP_LOCAL_RETENTION_DAYS
        pruned = _prune_local(local_dir, keep_days=keep, now=now)
        deleted.append(f"{len(pruned)} local copy(ies) older than {keep} days")
    if bucket:
        keep = settings.BACKUP_S3_RETENTION_DAYS
        expired = backup_expired_keys(
            client=client, bucket=bucket, prefix=settings.BACKUP_S3_PREFIX, keep_days=keep, now=now
        )
        for key in expired:
            client.delete_object(Bucket=bucket, Key=key)
        deleted.append(f"{len(expired)} S3 backup(s) older than {keep} days")
    return f"stored {' and '.join(stored)}, {dumped.size} bytes; deleted {', '.join(deleted)}"


# --- the restore drill ----------------------------------------------------------------------


@dataclass(frozen=True)
class FoundBackup:
    location: str  # s3://bucket/key or a local path
    taken_at: datetime


def latest_backup() -> FoundBackup:
    """The newest backup: on S3 when a bucket is configured, else in BACKUP_LOCAL_DIR."""
    bucket, prefix = settings.BACKUP_S3_BUCKET, settings.BACKUP_S3_PREFIX
    if bucket:
        found = []
        client = s3_client()
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                taken = backup_taken_at(item["Key"])
                if taken is not None:
                    found.append(FoundBackup(f"s3://{bucket}/{item['Key']}", taken))
        if not found:
            raise BackupError(f"no backup found under s3://{bucket}/{prefix}")
        return max(found, key=lambda b: b.taken_at)
    if not settings.BACKUP_LOCAL_DIR:
        raise BackupError("no backups to drill: set BACKUP_S3_BUCKET or BACKUP_LOCAL_DIR")
    local = local_backups(Path(settings.BACKUP_LOCAL_DIR))
    if not local:
        raise BackupError(f"no backup found in {settings.BACKUP_LOCAL_DIR}")
    taken, path = local[-1]
    return FoundBackup(str(path), taken)


def _drill_server() -> PgTarget:
    if settings.BACKUP_DRILL_DATABASE_URL:
        return PgTarget.from_url(settings.BACKUP_DRILL_DATABASE_URL)
    return PgTarget.from_alias("default")


def _scratch_prefix() -> str:
    source = PgTarget.from_alias("default").dbname.lower()
    return f"{re.sub(r'[^a-z0-9_]', '_', source)[:40]}_drill_"


def scratch_databases(server: PgTarget) -> list[str]:
    """Scratch databases of this deployment's drills that exist on ``server``."""
    pattern = re.compile(re.escape(_scratch_prefix()) + r"\d{8}t\d{6}$")
    with server.connect() as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    return sorted(name for name in names if pattern.match(name))


def _drop_database(server: PgTarget, name: str) -> None:
    with server.connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _expected_counts(path: Path, location: str) -> dict[str, int]:
    counts = backup_row_counts(path)
    if counts is not None:
        return counts
    # A backup from before dumps carried their counts: what its run recorded, if any.
    recorded = (
        BackupRun.objects.filter(kind=BackupRun.Kind.BACKUP, ok=True)
        .filter(Q(s3_url=location) | Q(local_path=location))
        .exclude(table_counts={})
        .values_list("table_counts", flat=True)
        .first()
    )
    if not recorded:
        raise BackupError(f"{location} records no row counts to check the restore against")
    return {str(table): int(rows) for table, rows in recorded.items()}


def restore_drill(*, now: datetime | None = None) -> JobResult:
    """Restore the latest backup into a scratch database, check its row counts, drop it."""
    return _run_job(BackupRun.Kind.DRILL, now, lambda run, at: _drill(run, now=at))


def _drill(run: BackupRun, *, now: datetime) -> tuple[bool, str]:
    server = _drill_server()
    # We hold the drill lock: scratch databases left by a killed drill go first.
    for leftover in scratch_databases(server):
        logger.warning("dropping the scratch database %s a killed drill left", leftover)
        _drop_database(server, leftover)
    backup = latest_backup()
    if backup.location.startswith("s3://"):
        run.s3_url = backup.location
    else:
        run.local_path = backup.location
    run.save(update_fields=["s3_url", "local_path"])
    local_dir = Path(settings.BACKUP_LOCAL_DIR) if settings.BACKUP_LOCAL_DIR else None
    workdir = local_dir if local_dir is not None and local_dir.is_dir() else None
    scratch = replace(server, dbname=f"{_scratch_prefix()}{now:%Y%m%dt%H%M%S}")
    with tempfile.TemporaryDirectory(prefix=".parkme-drill-", dir=workdir) as tmp:
        path = backup_fetch(source=backup.location, workdir=Path(tmp))
        run.size_bytes = path.stat().st_size
        expected = _expected_counts(path, backup.location)
        with server.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch.dbname)))
        try:
            backup_restore(target=scratch, dump_path=path)
            with scratch.connect() as conn:
                restored = count_rows(conn, tuple(expected))
        except BaseException:
            try:
                _drop_database(server, scratch.dbname)
            except Exception:  # the next drill drops it; the restore's error is the news
                logger.exception("could not drop the scratch database %s", scratch.dbname)
            raise
        _drop_database(server, scratch.dbname)  # failing to drop it fails the drill
    run.table_counts = restored
    mismatches = [
        f"{table}: backup {rows}, restored {restored.get(table, 'no table')}"
        for table, rows in sorted(expected.items())
        if restored.get(table) != rows
    ]
    where = f"{backup.location} (taken {backup.taken_at:%Y-%m-%d %H:%M:%S} UTC)"
    if mismatches:
        return False, f"restored {where}, but row counts differ: {'; '.join(mismatches)}"
    return True, (
        f"restored {where} into {scratch.dbname}: rows of {len(expected)} tables match the "
        f"backup ({sum(expected.values())} rows); scratch database dropped"
    )


# --- what monitoring reads ------------------------------------------------------------------


def _latest_runs() -> tuple[dict[str, BackupRun], dict[str, BackupRun]]:
    """(latest finished run, latest successful run) per kind: two queries."""
    fields = ["kind", "started_at", "finished_at", "ok", "size_bytes", "s3_url", "local_path"]
    finished = (
        BackupRun.objects.filter(ok__isnull=False)
        .order_by("kind", "-started_at")
        .distinct("kind")
        .only(*fields, "detail")
    )
    succeeded = (
        BackupRun.objects.filter(ok=True)
        .order_by("kind", "-finished_at")
        .distinct("kind")
        .only(*fields)
    )
    return {r.kind: r for r in finished}, {r.kind: r for r in succeeded}


def backup_metrics(*, now: datetime | None = None) -> Iterator[Metric]:
    """The Backups metric families of the ops contract, from the BackupRun rows."""
    at = (now or timezone.now()).timestamp()
    finished, succeeded = _latest_runs()
    backup = succeeded.get(BackupRun.Kind.BACKUP)
    drill = succeeded.get(BackupRun.Kind.DRILL)
    backup_at = backup.finished_at.timestamp() if backup and backup.finished_at else 0.0
    drill_at = drill.finished_at.timestamp() if drill and drill.finished_at else 0.0
    latest_drill = finished.get(BackupRun.Kind.DRILL)
    yield GaugeMetricFamily(
        "parkme_backup_last_success_timestamp_seconds",
        "Unix time the last successful database backup finished (0 if never).",
        value=backup_at,
    )
    yield GaugeMetricFamily(
        "parkme_backup_last_size_bytes",
        "Size of the last successful database backup, gzipped (0 if never).",
        value=float(backup.size_bytes or 0) if backup else 0.0,
    )
    yield GaugeMetricFamily(
        "parkme_backup_age_seconds",
        "Seconds since the last successful database backup (huge if never).",
        value=at - backup_at,
    )
    yield GaugeMetricFamily(
        "parkme_restore_drill_last_success_timestamp_seconds",
        "Unix time the last successful restore drill finished (0 if never).",
        value=drill_at,
    )
    yield GaugeMetricFamily(
        "parkme_restore_drill_last_ok",
        "1 if the latest restore drill passed, 0 if it failed or none ran.",
        value=1.0 if latest_drill is not None and latest_drill.ok else 0.0,
    )
    yield GaugeMetricFamily(
        "parkme_restore_drill_age_seconds",
        "Seconds since the last successful restore drill (huge if never).",
        value=at - drill_at,
    )


def backup_summary(*, now: datetime | None = None) -> dict:
    """The latest backup and drill for /monitoring/stats (JSON-able; None where none ran)."""
    now = now or timezone.now()
    finished, succeeded = _latest_runs()

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    def age(run: BackupRun | None) -> float | None:
        if run is None or run.finished_at is None:
            return None
        return round((now - run.finished_at).total_seconds(), 1)

    backup = finished.get(BackupRun.Kind.BACKUP)
    drill = finished.get(BackupRun.Kind.DRILL)
    last_backup = succeeded.get(BackupRun.Kind.BACKUP)
    last_drill = succeeded.get(BackupRun.Kind.DRILL)
    return {
        "backup": {
            "at": when(backup.finished_at) if backup else None,
            "ok": backup.ok if backup else None,
            "size_bytes": backup.size_bytes if backup else None,
            "location": [loc for loc in (backup.s3_url, backup.local_path) if loc]
            if backup
            else [],
            "detail": backup.detail if backup else "",
            "last_success_at": when(last_backup.finished_at) if last_backup else None,
            "age_seconds": age(last_backup),
        },
        "drill": {
            "at": when(drill.finished_at) if drill else None,
            "ok": drill.ok if drill else None,
            "detail": drill.detail if drill else "",
            "last_success_at": when(last_drill.finished_at) if last_drill else None,
            "age_seconds": age(last_drill),
        },
    }
