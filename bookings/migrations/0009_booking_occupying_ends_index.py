"""An index for occupancy over a window: the occupying bookings by ends_at, covering
starts_at, facility and spot.

The hourly roll-up (and the dashboard and reports, through bookings.occupancy) asked for
every occupying booking of every facility and filtered by time afterwards: a pass over the
whole history, ~0.8 s at 2 M bookings and growing with every year kept. With this index
and the window's bounds as constants in the query, it reads only the bookings that end
after the window starts. Built CONCURRENTLY (non-atomic migration), so a deploy never
blocks writes to bookings; reversible."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models

OCCUPYING = models.Q(("status__in", ["held", "confirmed", "active", "completed"]))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("bookings", "0008_booking_auto_checked_out"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="booking",
            index=models.Index(
                condition=OCCUPYING,
                fields=["ends_at"],
                include=["starts_at", "facility", "spot"],
                name="booking_occupying_ends_idx",
            ),
        ),
    ]
