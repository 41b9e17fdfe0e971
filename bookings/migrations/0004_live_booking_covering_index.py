"""Replace the live-bookings-by-facility index with one that covers availability reads.

Built and dropped CONCURRENTLY, so a deploy never blocks writes to bookings; a
non-atomic migration because PostgreSQL refuses concurrent index builds in a
transaction. Reversible: backwards rebuilds the old index first, then drops the new."""

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
                fields=["facility", "starts_at"],
                include=["ends_at", "spot"],
                name="booking_live_fac_window_idx",
            ),
        ),
        RemoveIndexConcurrently(
            model_name="booking",
            name="booking_live_fac_status_idx",
        ),
    ]
