"""Run the booking and permit sweeps now (what beat runs every few minutes), or show what
they would do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from bookings import permit_sweeps, sweeps

SHOWN = 10  # references listed per sweep in a dry run

Runner = Callable[..., sweeps.SweepResult]
# name → (the sweep, how to run it), booking sweeps first, in the order they run.
RUNS: dict[str, tuple[sweeps.Sweep | permit_sweeps.PermitSweep, Runner]] = {
    **{name: (sweeps.SWEEPS[name], sweeps.sweep_run) for name in sweeps.EXPIRY_SWEEPS},
    **{
        name: (sweep, permit_sweeps.permit_sweep_run)
        for name, sweep in permit_sweeps.PERMIT_SWEEPS.items()
    },
}


class Command(BaseCommand):
    help = (
        "Expire timed-out holds and no-shows, flag overstays, check out stale active "
        "bookings and queue reminders; renew, expire and remind permits — now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be done; change nothing"
        )
        parser.add_argument("--batch-size", type=int, default=None, help="rows per transaction")
        parser.add_argument(
            "--sweep",
            action="append",
            choices=list(RUNS),
            help="run only this sweep (repeatable); default: all of them",
        )

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        names: list[str] = options["sweep"] or list(RUNS)  # type: ignore[assignment]
        for name in names:
            sweep, runner = RUNS[name]
            if options["dry_run"]:
                self.stdout.write(self._would(sweep, now))
                continue
            result = runner(name, now=now, batch_size=options["batch_size"])
            line = "did " + sweep.summary.format(n=result.count)
            if result.notified:
                line += f" ({result.notified} notification(s) queued)"
            self.stdout.write(line)

    @staticmethod
    def _would(sweep: sweeps.Sweep | permit_sweeps.PermitSweep, now: datetime) -> str:
        found = list(sweep.due(now).values_list("reference", flat=True)[: SHOWN + 1])
        total = len(found) if len(found) <= SHOWN else sweep.due(now).count()
        line = "would " + sweep.summary.format(n=total)
        if found:
            more = f" and {total - SHOWN} more" if total > SHOWN else ""
            line += f": {', '.join(found[:SHOWN])}{more}"
        return line
