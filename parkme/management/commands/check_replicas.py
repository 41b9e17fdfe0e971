"""Lag and health of every read replica; exits non-zero when one is unhealthy."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from parkme.replicas import replica_statuses


class Command(BaseCommand):
    help = "Show each read replica's health and replication lag (exit 1 if any is unhealthy)."

    def handle(self, *args: object, **options: object) -> None:
        statuses = replica_statuses(refresh=True)
        if not statuses:
            self.stdout.write("no read replicas configured (DATABASE_REPLICA_URLS is empty)")
            return
        for status in statuses:
            lag = "-" if status.lag_seconds is None else f"{status.lag_seconds:.3f}s"
            state = "ok" if status.healthy else "SKIPPED"
            line = f"{status.alias:<12} {state:<8} lag {lag:<10}"
            self.stdout.write(line + (f" {status.error}" if status.error else ""))
        unhealthy = [s.alias for s in statuses if not s.healthy]
        if unhealthy:
            raise CommandError(f"unhealthy replicas: {', '.join(unhealthy)}")
