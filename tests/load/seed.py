"""A realistic dataset for `make bench`, written in bulk SQL: 200 facilities around
Helsinki, 20,000 spots, 200,000 bookings over 30 days (none overlapping), 2,000 drivers
who book during the benchmark."""

from __future__ import annotations

import json

from django.db import connection, transaction

from bookings.states import BookingStatus


def _band(weekday: int, starts: str, ends: str | None, unit: int, price: str, label: str) -> dict:
    return {
        "weekday": weekday,
        "starts": starts,
        "ends": ends,
        "unit_minutes": unit,
        "unit_price": price,
        "label": label,
    }


BENCH_BOARD = {
    "currency": "EUR",
    "vat_percent": "25.50",
    "daily_max": "25.00",
    "minimum_charge": "0.00",
    "overnight": None,
    "bands": [
        band
        for day in range(5)
        for band in (
            _band(day, "00:00", "07:00", 30, "1.00", "Night"),
            _band(day, "07:00", "18:00", 60, "4.00", "Day"),
            _band(day, "18:00", None, 30, "1.00", "Evening"),
        )
    ]
    + [_band(day, "00:00", None, 60, "2.50", "Weekend") for day in (5, 6)],
    "early_birds": [],
    "special_days": [],
    "kind_adjustments": [],
}

FACILITIES = 200
SPOTS_PER_FACILITY = 100
BOOKINGS_PER_SPOT = 10
BOOKERS = 2000
CONTENDED_FACILITIES = 5
MARKER = "Bench Operator"


def dataset_ready() -> bool:
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM parkme_operator WHERE name = %s", [MARKER])
        if not c.fetchone()[0]:
            return False
        c.execute("SELECT count(*) FROM facilities_rateversion")
        if c.fetchone()[0] < FACILITIES:  # seeded before rate boards existed
            return False
        c.execute("SELECT count(*) FROM bookings_booking")
        return c.fetchone()[0] >= FACILITIES * SPOTS_PER_FACILITY * BOOKINGS_PER_SPOT


def clear(c, *, operator: str) -> None:
    """Empty the bench tables and create the bench operator (slug ``bench``)."""
    c.execute(
        "TRUNCATE bookings_notification, bookings_bookingevent, bookings_gateevent, "
        "bookings_booking, vehicles_vehicle, facilities_spot, facilities_zone, "
        "facilities_rateband, facilities_rateversion, facilities_rateplan, "
        "facilities_facility, parkme_membership, parkme_operator "
        "RESTART IDENTITY CASCADE"
    )
    c.execute("DELETE FROM parkme_user WHERE email LIKE 'bench-%%'")
    c.execute(
        "INSERT INTO parkme_operator (name, slug, created_at) VALUES (%s, 'bench', now())",
        [operator],
    )


def catalog_and_drivers(c) -> None:
    """For every facility already inserted: the bench rate board, two zones of spots, the
    historical drivers (one car per spot) and the drivers who book during the benchmark.
    Inserted in id order, so the same facilities get the same ids on every seed."""
    # A weekday day/evening board with a daily maximum, as operators post them.
    c.execute(
        """
        INSERT INTO facilities_rateversion
            (facility_id, label, valid_from, currency, vat_percent, grace_minutes,
             daily_max, minimum_charge, cancel_free_hours, compiled, created_at)
        SELECT id, 'Bench board', '2000-01-01T00:00:00Z', 'EUR', 25.5, 15, 25.00, 0, 0,
               %(compiled)s::jsonb, now()
        FROM facilities_facility ORDER BY id
        """,
        {"compiled": json.dumps(BENCH_BOARD)},
    )
    c.execute(
        """
        INSERT INTO facilities_rateband
            (version_id, weekday, starts, ends, unit_minutes, unit_price, label)
        SELECT v.id, (b->>'weekday')::int, (b->>'starts')::time, (b->>'ends')::time,
               (b->>'unit_minutes')::int, (b->>'unit_price')::numeric, b->>'label'
        FROM facilities_rateversion v, jsonb_array_elements(v.compiled->'bands') b
        """
    )
    c.execute(
        """
        INSERT INTO facilities_zone (facility_id, name, level)
        SELECT f.id, 'P' || z, -z FROM facilities_facility f, generate_series(1, 2) z
        ORDER BY f.id, z
        """
    )
    c.execute(
        """
        INSERT INTO facilities_spot (zone_id, facility_id, code, kind, status, is_active)
        SELECT z.id, z.facility_id, z.name || '-' || lpad(s::text, 3, '0'),
               (ARRAY['standard','standard','standard','standard','standard','standard',
                      'compact','ev','accessible','motorcycle'])[1 + s %% 10],
               CASE WHEN s %% 50 = 0 THEN 'maintenance' ELSE 'available' END, true
        FROM facilities_zone z, generate_series(1, %(per_zone)s) s ORDER BY z.id, s
        """,
        {"per_zone": SPOTS_PER_FACILITY // 2},
    )
    # Historical drivers: one vehicle per spot so no vehicle ever overlaps itself.
    c.execute(
        """
        INSERT INTO parkme_user (password, email, full_name, is_active, is_staff,
                                 is_superuser, date_joined)
        SELECT '!', 'bench-history-' || i || '@bench.test', '', true, false, false, now()
        FROM generate_series(1, 2000) i
        """
    )
    c.execute(
        """
        INSERT INTO vehicles_vehicle (owner_id, plate, plate_normalized, kind, is_ev,
                                      is_active, created_at)
        SELECT u.id, 'H-' || s.id, 'H' || s.id, 'car', false, true, now()
        FROM facilities_spot s
        JOIN parkme_user u ON u.email = 'bench-history-' || (1 + s.id % 2000) || '@bench.test'
        ORDER BY s.id
        """
    )
    # Drivers who book during the benchmark: one car each, no bookings yet.
    c.execute(
        """
        INSERT INTO parkme_user (password, email, full_name, is_active, is_staff,
                                 is_superuser, date_joined)
        SELECT '!', 'bench-booker-' || i || '@bench.test', '', true, false, false, now()
        FROM generate_series(1, %(n)s) i
        """,
        {"n": BOOKERS},
    )
    c.execute(
        """
        INSERT INTO vehicles_vehicle (owner_id, plate, plate_normalized, kind, is_ev,
                                      is_active, created_at)
        SELECT id, 'BK-' || id, 'BK' || id, 'car', false, true, now()
        FROM parkme_user WHERE email LIKE 'bench-booker-%%'
        """
    )


@transaction.atomic
def seed() -> None:
    with connection.cursor() as c:
        c.execute("SET LOCAL statement_timeout = 0")
        clear(c, operator=MARKER)
        # Facilities spread over ~15 km around central Helsinki.
        c.execute(
            """
            INSERT INTO facilities_facility
                (operator_id, name, slug, address, latitude, longitude, timezone, is_active,
                 created_at)
            SELECT (SELECT id FROM parkme_operator WHERE slug = 'bench'),
                   'Garage ' || i, 'garage-' || i, 'Street ' || i || ', Helsinki',
                   60.17 + ((i * 7919) %% 200 - 100) * 0.0007,
                   24.94 + ((i * 104729) %% 200 - 100) * 0.0014,
                   'Europe/Helsinki', true, now()
            FROM generate_series(1, %(n)s) AS i
            """,
            {"n": FACILITIES},
        )
        catalog_and_drivers(c)
        # Ten bookings per spot, one every three days across 30 days (-15 .. +15), 2-6 h
        # long, staggered through the day; past ones completed, future ones confirmed.
        c.execute(
            """
            INSERT INTO bookings_booking
                (public_id, reference, driver_id, vehicle_id, facility_id, spot_id, spot_kind,
                 starts_at, ends_at, status, price, currency, access_code, overstay_fee,
                 request_fingerprint, created_at, updated_at)
            SELECT gen_random_uuid(), 'B' || lpad(to_hex(s.id * 16 + k), 9, '0'),
                   v.owner_id, v.id, s.facility_id, s.id, s.kind, t.starts_at,
                   t.starts_at + (2 + (s.id + k) %% 5) * interval '1 hour',
                   CASE WHEN t.starts_at < now() THEN %(past_status)s ELSE %(future_status)s END,
                   10.50, 'EUR', '000000', 0, '', now(), now()
            FROM facilities_spot s
            JOIN vehicles_vehicle v ON v.plate_normalized = 'H' || s.id
            CROSS JOIN generate_series(0, %(k)s - 1) k
            CROSS JOIN LATERAL (
                SELECT date_trunc('hour', now()) - interval '15 days'
                       + k * interval '3 days' + ((s.id * 37) %% 48) * interval '30 minutes'
                       AS starts_at
            ) t
            """,
            {
                "k": BOOKINGS_PER_SPOT,
                "past_status": BookingStatus.COMPLETED.value,
                "future_status": BookingStatus.CONFIRMED.value,
            },
        )
    with connection.cursor() as c:
        c.execute("ANALYZE")


def bookers() -> list[tuple[int, int]]:
    """(user id, vehicle id) of the drivers who book during the run."""
    with connection.cursor() as c:
        c.execute(
            "SELECT u.id, v.id FROM parkme_user u JOIN vehicles_vehicle v ON v.owner_id = u.id "
            "WHERE u.email LIKE 'bench-booker-%%' ORDER BY u.id"
        )
        return list(c.fetchall())


def reset_benchmark_writes() -> None:
    """Forget bookings made by a previous run so each run starts from the same state."""
    with connection.cursor() as c:
        c.execute(
            "DELETE FROM bookings_notification WHERE booking_id IN (SELECT b.id FROM "
            "bookings_booking b JOIN parkme_user u ON u.id = b.driver_id "
            "WHERE u.email LIKE 'bench-booker-%%')"
        )
        c.execute(
            "DELETE FROM bookings_bookingevent WHERE booking_id IN (SELECT b.id FROM "
            "bookings_booking b JOIN parkme_user u ON u.id = b.driver_id "
            "WHERE u.email LIKE 'bench-booker-%%')"
        )
        c.execute(
            "DELETE FROM bookings_booking WHERE driver_id IN "
            "(SELECT id FROM parkme_user WHERE email LIKE 'bench-booker-%%')"
        )
        c.execute("DELETE FROM bookings_gateevent WHERE reason = 'bench'")
    webhook_endpoint_set(subscribed=False)


def webhook_endpoint_set(*, subscribed: bool) -> None:
    """With ``subscribed``, the bench operator has one active endpoint subscribed to every
    event (nothing delivers during the run: the rows and the enqueue are what is measured);
    without, none, and no deliveries are left over."""
    from parkme.models import Operator
    from parkme.webhooks.events import EventType
    from parkme.webhooks.models import WebhookDelivery, WebhookEndpoint
    from parkme.webhooks.signing import secret_new

    WebhookDelivery.objects.filter(endpoint__operator__slug="bench").delete()
    WebhookEndpoint.objects.filter(operator__slug="bench").delete()
    if subscribed:
        WebhookEndpoint.objects.create(
            operator=Operator.objects.get(slug="bench"),
            url="https://hooks.bench.invalid/parkme",
            event_types=list(EventType.values),
            secret=secret_new(),
        )


def webhook_deliveries_written() -> int:
    from parkme.webhooks.models import WebhookDelivery

    return WebhookDelivery.objects.filter(endpoint__operator__slug="bench").count()


def facility_ids() -> list[int]:
    with connection.cursor() as c:
        c.execute("SELECT id FROM facilities_facility ORDER BY id")
        return [row[0] for row in c.fetchall()]


def overlapping_live_pairs() -> int:
    from bookings.selectors import booking_live_overlap_count

    return booking_live_overlap_count()
