"""Run the booking sweeps now (what beat runs every minute), or show what they would do."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from bookings import sweeps

SHOWN = 10  # references listed per sweep in a dry run


class Command(BaseCommand):
    help = "Expire timed-out holds and no-shows, flag overstays and queue reminders now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be done; change nothing"
        )
        parser.add_argument("--batch-size", type=int, default=None, help="rows per transaction")

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        if options["dry_run"]:
            for name in sweeps.EXPIRY_SWEEPS:
                sweep = sweeps.SWEEPS[name]
                found = list(sweep.due(now).values_list("reference", flat=True)[: SHOWN + 1])
                total = len(found) if len(found) <= SHOWN else sweep.due(now).count()
                line = "would " + sweep.summary.format(n=total)
                if found:
                    more = f" and {total - SHOWN} more" if total > SHOWN else ""
                    line += f": {', '.join(found[:SHOWN])}{more}"
                self.stdout.write(line)
            return
        for name in sweeps.EXPIRY_SWEEPS:
            result = sweeps.sweep_run(name, now=now, batch_size=options["batch_size"])  # type: ignore[arg-type]
            line = "did " + sweeps.SWEEPS[name].summary.format(n=result.count)
            if result.notified:
                line += f" ({result.notified} notification(s) queued)"
            self.stdout.write(line)
