"""Run the booking sweeps now (what beat runs every minute), or show what they would do."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from bookings import sweeps

SHOWN = 10  # references listed per sweep in a dry run

WHAT = {
    "expire_holds": "expire {n} timed-out hold(s)",
    "expire_no_shows": "expire {n} no-show(s)",
    "flag_overstays": "flag {n} overstay(s)",
    "start_reminders": "remind {n} driver(s) before start",
    "ending_soon": "remind {n} driver(s) before end",
}


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
            for name, due in sweeps.DUE.items():
                found = list(due(now).values_list("reference", flat=True)[: SHOWN + 1])
                total = len(found) if len(found) <= SHOWN else due(now).count()
                line = "would " + WHAT[name].format(n=total)
                if found:
                    more = f" and {total - SHOWN} more" if total > SHOWN else ""
                    line += f": {', '.join(found[:SHOWN])}{more}"
                self.stdout.write(line)
            return
        for name, sweep in sweeps.EXPIRY_SWEEPS.items():
            result = sweep(now=now, batch_size=options["batch_size"])
            line = "did " + WHAT[name].format(n=result.count)
            if result.notified:
                line += f" ({result.notified} notification(s) queued)"
            self.stdout.write(line)
