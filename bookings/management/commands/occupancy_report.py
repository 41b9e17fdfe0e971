"""Occupancy per local day for one facility, as CSV on stdout, in a file, or on S3."""

from __future__ import annotations

import io
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bookings.reports import occupancy_report, occupancy_report_csv
from facilities.models import Facility
from parkme.backups import BackupError, s3_client, split_s3_url


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc


class Command(BaseCommand):
    help = "Occupancy report for a facility and date range (facility-local days), as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--operator", required=True, help="operator slug")
        parser.add_argument("--facility", required=True, help="facility slug")
        parser.add_argument("--from", dest="date_from", required=True, help="first day")
        parser.add_argument("--to", dest="date_to", required=True, help="last day (included)")
        parser.add_argument(
            "--output", default="-", help="'-' for stdout, a file path, or s3://bucket/key"
        )

    def handle(self, *args: object, **options: str) -> None:
        facility = (
            Facility.objects.select_related("operator")
            .filter(operator__slug=options["operator"], slug=options["facility"])
            .first()
        )
        if facility is None:
            raise CommandError(
                f"no facility {options['facility']!r} for operator {options['operator']!r}"
            )
        date_from, date_to = _date(options["date_from"]), _date(options["date_to"])
        if date_to < date_from:
            raise CommandError("--to is before --from")
        if (date_to - date_from).days > 366:
            raise CommandError("at most 367 days per report")
        rows = occupancy_report(facility=facility, date_from=date_from, date_to=date_to)
        output = options["output"]
        if output == "-":
            occupancy_report_csv(rows, self.stdout)
            return
        buffer = io.StringIO()
        occupancy_report_csv(rows, buffer)
        if output.startswith("s3://"):
            try:
                bucket, key = split_s3_url(output)
            except BackupError as exc:
                raise CommandError(str(exc)) from exc
            s3_client().put_object(
                Bucket=bucket, Key=key, Body=buffer.getvalue().encode(), ContentType="text/csv"
            )
        else:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                fh.write(buffer.getvalue())
        self.stderr.write(f"wrote {len(rows)} days to {output}")
