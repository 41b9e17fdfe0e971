"""Reads of bookings, always scoped to who is asking."""

from __future__ import annotations

from datetime import date

from django.db.models import DateField, DateTimeField, F, Func, QuerySet
from django.db.models.functions import Cast

from bookings.models import LIVE_STATUSES, Booking
from parkme.errors import NotFound
from parkme.models import User

# For the raw SQL of the hot paths (availability, the booking engine's spot pick).
LIVE_STATUSES_SQL = ", ".join(f"'{status.value}'" for status in LIVE_STATUSES)
# The spots that live bookings at %(facility_ids)s hold during [%(starts_at)s, %(ends_at)s):
# one index-only pass over booking_live_fac_status_idx, meant for `s.id NOT IN (…)`, which
# the planner hashes once instead of probing each spot's bookings.
TAKEN_SPOT_IDS_SQL = f"""
    SELECT b.spot_id FROM bookings_booking b
    WHERE b.facility_id = ANY(%(facility_ids)s) AND b.status IN ({LIVE_STATUSES_SQL})
      AND b.starts_at < %(ends_at)s AND b.ends_at > %(starts_at)s
"""  # noqa: S608 - only constants are interpolated


def booking_list_for_driver(
    *,
    driver: User,
    status: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Booking]:
    qs = Booking.objects.for_driver(driver).select_related(
        "facility", "spot", "spot__zone", "vehicle"
    )
    if status:
        qs = qs.filter(status__in=status)
    if date_from or date_to:
        # Dates are the facility's local calendar days, as printed on the driver's receipt.
        qs = qs.annotate(
            local_start_date=Cast(
                Func(
                    F("facility__timezone"),
                    F("starts_at"),
                    function="timezone",
                    output_field=DateTimeField(),
                ),
                DateField(),
            )
        )
        if date_from:
            qs = qs.filter(local_start_date__gte=date_from)
        if date_to:
            qs = qs.filter(local_start_date__lte=date_to)
    return qs.order_by("-starts_at", "-id")


def booking_get_for_driver(*, driver: User, public_id) -> Booking:
    """Another driver's booking answers exactly like a missing one."""
    booking = (
        Booking.objects.for_driver(driver)
        .select_related("facility", "spot", "spot__zone", "vehicle")
        .filter(public_id=public_id)
        .first()
    )
    if booking is None:
        raise NotFound("No booking with this id.")
    return booking


def booking_live_overlap_count() -> int:
    """Pairs of live bookings that overlap on one spot: the integrity check that must
    always answer 0 (the exclusion constraint guarantees it; benchmarks and audits ask)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.spot_id = b.spot_id AND a.id < b.id
             AND tstzrange(a.starts_at, a.ends_at) && tstzrange(b.starts_at, b.ends_at)
            WHERE a.status IN ('held', 'confirmed', 'active')
              AND b.status IN ('held', 'confirmed', 'active')
            """
        )
        return cursor.fetchone()[0]
