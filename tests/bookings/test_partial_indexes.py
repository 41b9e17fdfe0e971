"""On a realistic volume the planner serves each hot query from its partial index."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from bookings.models import Booking
from bookings.states import BookingStatus
from facilities.models import Spot
from tests.factories import FacilityFactory, UserFactory, ZoneFactory
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db

SPOTS = 10_000
BOOKINGS = 40_000


def _bulk_load(now):
    facility = FacilityFactory()
    other = FacilityFactory()
    zones = [ZoneFactory(facility=facility) for _ in range(50)]
    owner = UserFactory()
    base = now - timedelta(days=20)
    with connection.cursor() as c:
        # Bulk loading is not what statement_timeout guards against; a busy CI box may be slow.
        c.execute("SET LOCAL statement_timeout = 0")
        c.execute(
            """
            INSERT INTO facilities_spot (zone_id, facility_id, code, kind, status, is_active)
            SELECT (%(zones)s::bigint[])[1 + i %% 50], %(facility)s, 'S' || i,
                   (ARRAY['standard','compact','ev','accessible','motorcycle'])[1 + i %% 5],
                   CASE WHEN i %% 10 = 0 THEN 'maintenance' ELSE 'available' END, i %% 17 <> 0
            FROM generate_series(1, %(n)s) AS i
            """,
            {"zones": [z.id for z in zones], "facility": facility.id, "n": SPOTS},
        )
        c.execute(
            """
            INSERT INTO vehicles_vehicle
                (owner_id, plate, plate_normalized, kind, is_ev, is_active, created_at)
            SELECT %(owner)s, 'P-' || i, 'P' || i, 'car', false, i %% 3 <> 0, now()
            FROM generate_series(1, %(n)s) AS i
            """,
            {"owner": owner.id, "n": SPOTS},
        )
        c.execute(
            """
            WITH s AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM facilities_spot
                       WHERE facility_id = %(facility)s),
                 v AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM vehicles_vehicle
                       WHERE owner_id = %(owner)s)
            INSERT INTO bookings_booking
                (public_id, reference, driver_id, vehicle_id, facility_id, spot_id, spot_kind,
                 starts_at, ends_at, status, price, currency, access_code, hold_expires_at,
                 overstay_fee, request_fingerprint, created_at, updated_at)
            SELECT gen_random_uuid(), 'R' || i, %(owner)s, v.id,
                   CASE WHEN i %% 4 = 0 THEN %(other)s ELSE %(facility)s END, s.id, 'standard',
                   %(base)s + (i / %(spots)s) * interval '3 hours',
                   %(base)s + (i / %(spots)s) * interval '3 hours' + interval '2 hours',
                   st.status, 6, 'EUR', '000000',
                   CASE WHEN st.status = %(held)s THEN now() + interval '5 minutes' END,
                   0, '', now(), now()
            FROM generate_series(0, %(n)s - 1) AS i
            JOIN s ON s.n = i %% %(spots)s
            JOIN v ON v.n = i %% %(spots)s
            CROSS JOIN LATERAL (SELECT CASE
                WHEN i %% 100 = 0 THEN %(held)s WHEN i %% 100 = 1 THEN %(confirmed)s
                WHEN i %% 100 = 2 THEN %(active)s WHEN i %% 100 < 10 THEN %(cancelled)s
                ELSE %(completed)s END AS status) st
            """,
            {
                **{status.value: status.value for status in BookingStatus},
                "owner": owner.id,
                "facility": facility.id,
                "other": other.id,
                "base": base,
                "spots": SPOTS,
                "n": BOOKINGS,
            },
        )
        c.execute("ANALYZE facilities_spot; ANALYZE vehicles_vehicle; ANALYZE bookings_booking")
    return facility, zones


def test_hot_queries_use_their_partial_indexes():
    now = timezone.now()
    facility, zones = _bulk_load(now)
    assert Booking.objects.count() == BOOKINGS
    live = [BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.ACTIVE]
    queries = {
        "booking_live_fac_status_idx": Booking.objects.filter(
            facility=facility, status__in=live, starts_at__lt=now + timedelta(days=1)
        ),
        "booking_held_sweep_idx": Booking.objects.filter(
            status=BookingStatus.HELD, hold_expires_at__lte=now
        ),
        "booking_confirmed_sweep_idx": Booking.objects.filter(
            status=BookingStatus.CONFIRMED, starts_at__lte=now - timedelta(days=19)
        ),
        "booking_active_sweep_idx": Booking.objects.filter(
            status=BookingStatus.ACTIVE, ends_at__lte=now - timedelta(days=19)
        ),
        "spot_bookable_zone_kind_idx": Spot.objects.filter(
            zone=zones[3], kind="ev", is_active=True, status="available"
        ),
        "vehicle_active_plate_idx": Vehicle.objects.filter(
            plate_normalized="P1234", is_active=True
        ),
    }
    plans = {name: qs.explain() for name, qs in queries.items()}
    missing = {name: plan for name, plan in plans.items() if name not in plan}
    assert not missing, missing
