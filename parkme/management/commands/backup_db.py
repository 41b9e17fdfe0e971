"""Back up the database now: pg_dump → gzip → S3 (or --output FILE), then apply S3 retention.

The scheduled backup is the beat task parkme.backup_nightly (parkme/backup_jobs.py), which
also keeps a local copy and records the run; this command is for a backup by hand (before a
risky release, say) and is not recorded. --dry-run shows the object it would write and the
expired backups it would delete, and touches nothing.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from parkme.backups import BackupError, PgTarget, backup_dump, backup_plan, backup_to_s3


class Command(BaseCommand):
    help = "pg_dump the database, gzip it and store it on S3 (or in a file) with retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default", help="database alias")
        parser.add_argument("--output", help="write the .sql.gz here instead of S3")
        parser.add_argument("--bucket", default=None, help="default: BACKUP_S3_BUCKET")
        parser.add_argument("--prefix", default=None, help="default: BACKUP_S3_PREFIX")
        parser.add_argument(
            "--keep-days", type=int, default=None, help="default: BACKUP_S3_RETENTION_DAYS"
        )
        parser.add_argument("--dry-run", action="store_true", help="show the plan only")

    def handle(self, *args: object, **options: object) -> None:
        target = PgTarget.from_alias(str(options["database"]))
        try:
            if options["output"]:
                self._to_file(target, Path(str(options["output"])), bool(options["dry_run"]))
            else:
                self._to_s3(target, options)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc

    def _to_file(self, target: PgTarget, path: Path, dry_run: bool) -> None:
        if dry_run:
            self.stdout.write(f"would dump {target.describe()} to {path}")
            return
        size = backup_dump(target=target, out_path=path)
        self.stdout.write(f"dumped {target.describe()} to {path} ({size} bytes)")

    def _to_s3(self, target: PgTarget, options: dict) -> None:
        bucket = options["bucket"] or settings.BACKUP_S3_BUCKET
        if not bucket:
            raise CommandError("no bucket: set BACKUP_S3_BUCKET (or pass --bucket or --output)")
        keep_days = options["keep_days"]
        if keep_days is None:
            keep_days = settings.BACKUP_S3_RETENTION_DAYS
        if keep_days < 1:
            raise CommandError("--keep-days must be at least 1")
        prefix = settings.BACKUP_S3_PREFIX if options["prefix"] is None else options["prefix"]
        plan = backup_plan(
            target=target, bucket=bucket, prefix=prefix, keep_days=keep_days, now=timezone.now()
        )
        verb = "would" if options["dry_run"] else "will"
        self.stdout.write(f"{verb} dump {target.describe()} to {plan.destination}")
        for key in plan.expired:
            self.stdout.write(f"{verb} delete s3://{bucket}/{key} (older than {keep_days} days)")
        if options["dry_run"]:
            return
        size = backup_to_s3(plan=plan, storage_class=settings.BACKUP_S3_STORAGE_CLASS)
        self.stdout.write(
            f"stored {plan.destination} ({size} bytes); deleted {len(plan.expired)} expired"
        )
