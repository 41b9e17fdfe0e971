"""manage.py import_permits FILE --operator SLUG [--dry-run]: see bookings.permit_import."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from bookings.permit_import import IMPORT_COLUMNS, IMPORT_OPTIONAL_COLUMNS, permit_import
from parkme.errors import ValidationFailed
from parkme.models import Operator


class Command(BaseCommand):
    help = (
        "Issue permits from a CSV file with the header "
        "product,plates,valid_from[,holder_email][,company_name,contact_email][,auto_renew] "
        "(product = id or name of one of the operator's products; plates = 1 to 3, separated "
        "by spaces, commas or semicolons; valid_from = YYYY-MM-DD; holder_email = an existing "
        "driver account, else company_name and contact_email for a fleet; auto_renew = "
        "true/false, default true). All or nothing: one bad or sold-out row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8, comma-separated)")
        parser.add_argument("--operator", required=True, help="slug of the operator")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check every row against the services, then roll back",
        )

    def handle(self, *args, **options):
        operator = Operator.objects.filter(slug=options["operator"]).first()
        if operator is None:
            raise CommandError(f"No operator with slug {options['operator']!r}.")
        path: Path = options["file"]
        try:
            with path.open(newline="", encoding="utf-8-sig") as fh:
                reader = csv.DictReader(fh)
                header = [h.strip().lower() for h in reader.fieldnames or []]
                missing = [c for c in IMPORT_COLUMNS if c not in header]
                unknown = [c for c in header if c not in IMPORT_COLUMNS + IMPORT_OPTIONAL_COLUMNS]
                if missing or unknown:
                    raise CommandError(
                        f"{path}: the header must be {','.join(IMPORT_COLUMNS)}"
                        f"[,{','.join(IMPORT_OPTIONAL_COLUMNS)}]"
                        + (f"; missing {', '.join(missing)}" if missing else "")
                        + (f"; unknown {', '.join(unknown)}" if unknown else "")
                    )
                reader.fieldnames = header
                rows = [(reader.line_num, row) for row in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{path}: cannot read the file ({exc}).") from exc

        try:
            result = permit_import(operator=operator, rows=rows, dry_run=options["dry_run"])
        except ValidationFailed as exc:
            for problem in exc.fields.get("rows", []):
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(exc.message) from exc
        if result.dry_run:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Dry run: {result.created} permit(s) for {operator.name} would be issued; "
                    "nothing was saved."
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Issued {result.created} permit(s) for {operator.name}: "
                + ", ".join(result.references)
            )
        )
