"""Make the live-bookings index (facility, status, starts_at) cover availability reads.

The same columns and name as before, plus INCLUDE (ends_at, spot), so availability takes
the taken spots of a window from the index alone. Built under a temporary name and swapped
in CONCURRENTLY, so a deploy never blocks writes to bookings: non-atomic, because
PostgreSQL refuses concurrent index builds inside a transaction. Reversible step by step."""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

LIVE = models.Q(("status__in", ["held", "confirmed", "active"]))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("bookings", "0003_gate_event"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="booking",
            index=models.Index(
                condition=LIVE,
                fields=["facility", "status", "starts_at"],
                include=["ends_at", "spot"],
                name="booking_live_fac_status_cov",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="booking",
            name="booking_live_fac_status_idx",
        ),
        migrations.RenameIndex(
            model_name="booking",
            new_name="booking_live_fac_status_idx",
            old_name="booking_live_fac_status_cov",
        ),
    ]
