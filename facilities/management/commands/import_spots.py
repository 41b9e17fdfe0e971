import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from facilities.services import IMPORT_COLUMNS, IMPORT_OPTIONAL_COLUMNS, spot_import
from parkme.errors import ValidationFailed
from parkme.models import Operator


class Command(BaseCommand):
    help = (
        "Import spots from a CSV file with the header facility,zone,code,kind[,status] "
        "(facility = slug, zone = name; both must exist). Every row is checked first; "
        "one bad row imports nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="CSV file (UTF-8, comma-separated)")
        parser.add_argument("--operator", required=True, help="slug of the operator")

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
            result = spot_import(operator=operator, rows=rows)
        except ValidationFailed as exc:
            for problem in exc.fields.get("rows", []):
                self.stderr.write(f"{path}: {problem}")
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} spots into {result.facilities} "
                f"facilit{'y' if result.facilities == 1 else 'ies'} of {operator.name}."
            )
        )
