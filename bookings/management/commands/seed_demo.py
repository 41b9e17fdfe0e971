from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bookings.demo import DEMO_PASSWORD, USERS, demo_seed


class Command(BaseCommand):
    help = "Create the demo operators, facilities and users (idempotent; never in production)."

    def handle(self, *args, **options):
        if settings.PARKME_ENVIRONMENT == "production":
            raise CommandError("seed_demo refuses to run with production settings.")
        counts = demo_seed()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: " + ", ".join(f"{n} {what}" for what, n in counts.items())
            )
        )
        self.stdout.write(f"Demo logins (password '{DEMO_PASSWORD}'):")
        for email, superuser, operator, role in USERS:
            what = "superuser" if superuser else (f"{role} of {operator}" if operator else "driver")
            self.stdout.write(f"  {email:<26} {what}")
