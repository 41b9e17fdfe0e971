"""Restore a backup (file or s3://bucket/key) into an empty database.

Without --commit it only checks that the backup exists and the target is empty. It never
overwrites data: a target with any table is refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from parkme.backups import BackupError, PgTarget, backup_fetch, backup_restore, database_is_empty


class Command(BaseCommand):
    help = "Restore a .sql.gz backup (path or s3://bucket/key) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("source", help="backup file or s3://bucket/key")
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--target-database", help="database name on the server of the default connection"
        )
        target.add_argument("--target-url", help="postgres://... of the empty target database")
        parser.add_argument("--commit", action="store_true", help="really restore")

    def handle(self, *args: object, **options: object) -> None:
        if options["target_url"]:
            target = PgTarget.from_url(str(options["target_url"]))
        else:
            target = PgTarget.from_alias("default", dbname=options["target_database"] or None)
        source = str(options["source"])
        try:
            if not database_is_empty(target):
                raise CommandError(f"{target.describe()} is not empty; refusing to restore")
            with tempfile.TemporaryDirectory(prefix="parkme-restore-") as tmp:
                path = backup_fetch(source=source, workdir=Path(tmp))
                if not options["commit"]:
                    self.stdout.write(
                        f"dry run: would restore {source} into {target.describe()}; "
                        "add --commit to do it"
                    )
                    return
                backup_restore(target=target, dump_path=path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"restored {source} into {target.describe()}")
