from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from bookings.demo import DEMO_PASSWORD, USERS, demo_seed
from bookings.demo_bookings import DEMO_DRIVERS
from parkme.devreceiver import demo_receiver_url


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--now: not an ISO 8601 date and time: {value!r}") from exc
    if timezone.is_naive(moment):
        raise CommandError("--now needs a UTC offset, e.g. 2026-12-01T09:30:00+02:00")
    return moment


class Command(BaseCommand):
    help = (
        "Create the demo operators, facilities, users, permits, webhook endpoint and the "
        "bookings around the current hour (idempotent; never in production)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            default=None,
            help="place the demo bookings around this moment (ISO 8601 with an offset) "
            "instead of the current time",
        )

    def handle(self, *args, **options):
        if settings.PARKME_ENVIRONMENT == "production":
            raise CommandError("seed_demo refuses to run with production settings.")
        now = options["now"]
        if isinstance(now, str):
            now = _moment(now)
        counts = demo_seed(now=now)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: " + ", ".join(f"{n} {what}" for what, n in counts.items())
            )
        )
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'):")
        for email, superuser, operator, role in USERS:
            what = "superuser" if superuser else (f"{role} of {operator}" if operator else "driver")
            self.stdout.write(f"  {email:<26} {what}")
        others = [email for email in DEMO_DRIVERS if email not in {u[0] for u in USERS}]
        self.stdout.write(f"  {others[0]} to {others[-1]}: drivers with demo bookings (API only)")
        self.stdout.write(f"Demo webhooks go to {demo_receiver_url()} (manage.py demo_receiver).")
