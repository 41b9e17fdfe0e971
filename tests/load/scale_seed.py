"""Years of bookings for `make bench-scale`, written in bulk SQL (generate_series, INSERT …
SELECT with the table's secondary indexes dropped and rebuilt afterwards, FK triggers off).

One dataset per size, each in its own database, seeded once and reused (a row in
``scale_seed_marker`` says what is there):

    size   bookings     facilities  spots     history per spot (3 years)
    0.2m      200,000        200      20,000    ~5
    2m      2,000,000        600      60,000    ~32
    10m    10,000,000      2,000     200,000    ~50

Every size has the same *recent slice* and the same *due work*, so what differs between
sizes is the history alone:

- 200 core facilities around Helsinki (the ones the scenarios search, show and book: the
  same places as tests/load/seed.py), 100 spots each; the others are further north, out of
  every search radius, and carry history only.
- The recent slice, on the core spots, around the anchor A (the hour it was laid): per spot
  one booking ~3 days ago (completed, some cancelled or expired), one in the last 24 h
  (completed, or active while it still runs), three ahead (confirmed, a few held).
- The due work, on the first 6 x DUE core spots: DUE each of timed-out holds, no-shows,
  overstays (not yet flagged), stale active bookings (already flagged), bookings starting
  within the reminder lead and bookings ending within the ending-soon lead, all due at A;
  and DUE ended bookings just past PERSONAL_DATA_RETENTION_DAYS that the nightly
  anonymisation has not reached yet. Everything older was anonymised, as the nightly job
  would have done (driver, vehicle gone, anonymized_at set).
- History: the rest, spread evenly over the 3 years before A - 6 days on every spot, 85 %
  completed, 10 % cancelled, 5 % expired, never overlapping on a spot.

No live bookings overlap on a spot or for a vehicle (one historical vehicle per spot; the
exclusion constraints hold throughout). Booking events and gate events of the history are
not generated (the sweeps reach them by booking id only).

A dataset seeded earlier is *refreshed* when its anchor is more than REFRESH_AFTER old: the
recent slice and due rows are deleted and laid again at the new hour, the nightly
anonymisation catches up, and DUE rows past the new cutoff are made due again.

    python -m tests.load.scale_seed --size 2m [--reseed]   (DATABASE_URL names the database)
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from bookings.states import ENDED_STATUSES, LIVE_STATUSES, sql_list
from tests.load.seed import SPOTS_PER_FACILITY, catalog_and_drivers, clear

CORE_FACILITIES = 200  # around Helsinki: what the scenarios search, show and book
HISTORY_YEARS = 3
HISTORY_GAP = timedelta(days=6)  # history ends this long before the anchor
DUE = 1000  # rows of due work per sweep, at every size
REFRESH_AFTER = timedelta(hours=6)
# The recent slice per core spot: k = -1 (~3 days ago), 0 (the last 24 h), 1..3 (ahead).
RECENT_K = (-1, 0, 1, 2, 3)
# Due work, in this order on the first 6 x DUE core spots (rank // DUE).
DUE_KINDS = ("holds", "no_shows", "overstays", "stale", "start_reminders", "ending_soon")
SEED_VERSION = 1
MARKER_TABLE = "scale_seed_marker"


@dataclass(frozen=True)
class Size:
    name: str
    database: str
    bookings: int
    facilities: int
    due: int = DUE

    @property
    def core(self) -> int:
        return min(CORE_FACILITIES, self.facilities)

    @property
    def spots(self) -> int:
        return self.facilities * SPOTS_PER_FACILITY

    @property
    def core_spots(self) -> int:
        return self.core * SPOTS_PER_FACILITY

    @property
    def recent(self) -> int:
        """Bookings in the recent slice and the due work (the same at every size with
        200 core facilities)."""
        return self.core_spots * len(RECENT_K)  # due spots: a due row instead of k = 0

    @property
    def history(self) -> int:
        return self.bookings - self.recent


SIZES = {
    size.name: size
    for size in (
        Size("0.2m", "parkme_scale_02m", 200_000, 200),
        Size("2m", "parkme_scale_2m", 2_000_000, 600),
        Size("10m", "parkme_scale_10m", 10_000_000, 2000),
    )
}


def retention() -> timedelta:
    return timedelta(days=settings.PARKME_BOOKING["RETENTION_DAYS"])


def hour_now() -> datetime:
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


# --- the marker ----------------------------------------------------------------------------


def marker() -> dict | None:
    """What the marker row says is seeded here (size, bookings, anchor …), or None."""
    with connection.cursor() as c:
        c.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if c.fetchone()[0] is None:
            return None
        c.execute(f"SELECT data FROM {MARKER_TABLE} LIMIT 1")  # noqa: S608 - a constant
        row = c.fetchone()
    if not row:
        return None
    data = row[0] if isinstance(row[0], dict) else json.loads(row[0])
    data["anchor"] = datetime.fromisoformat(data["anchor"])
    return data


def _marker_write(size: Size, anchor: datetime, seeded_at: str) -> None:
    data = {
        "version": SEED_VERSION,
        "size": size.name,
        "bookings": size.bookings,
        "facilities": size.facilities,
        "due": size.due,
        "anchor": anchor.isoformat(),
        "seeded_at": seeded_at,
    }
    with connection.cursor() as c:
        c.execute(f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (data jsonb NOT NULL)")
        c.execute(f"DELETE FROM {MARKER_TABLE}")  # noqa: S608 - a constant
        c.execute(f"INSERT INTO {MARKER_TABLE} (data) VALUES (%s::jsonb)", [json.dumps(data)])  # noqa: S608


def dataset_ready(size: Size) -> bool:
    found = marker()
    return bool(
        found
        and found.get("version") == SEED_VERSION
        and found.get("size") == size.name
        and found.get("bookings") == size.bookings
        and found.get("due") == size.due
    )


def prepare(size: Size, *, reseed: bool = False, log=print) -> datetime:
    """Seed (once, or with ``reseed``), refresh if the anchor is old; return the anchor."""
    if reseed or not dataset_ready(size):
        log(
            f"seeding {size.name}: {size.bookings:,} bookings, {size.facilities:,} facilities "
            f"({size.history:,} history) ..."
        )
        started = time.monotonic()
        anchor = seed(size)
        log(f"seeded {size.name} in {time.monotonic() - started:.0f} s")
        return anchor
    anchor = marker()["anchor"]
    if hour_now() - anchor > REFRESH_AFTER:
        log(f"refreshing the recent slice of {size.name} (laid at {anchor:%Y-%m-%d %H:%M}) ...")
        anchor = refresh(size)
    return anchor


# --- seeding -------------------------------------------------------------------------------


def seed(size: Size, *, anchor: datetime | None = None) -> datetime:
    anchor = anchor or hour_now()
    seeded_at = datetime.now(UTC).isoformat()
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SET LOCAL statement_timeout = 0")
        c.execute("SET LOCAL maintenance_work_mem = '512MB'")
        c.execute(f"DROP TABLE IF EXISTS {MARKER_TABLE}")
        _base(c, size)
        with _bulk_load(c, "bookings_booking"):
            _history(c, size, anchor)
        _recent(c, size, anchor)
        _marker_write(size, anchor, seeded_at)
    _vacuum()
    return anchor


def refresh(size: Size, *, anchor: datetime | None = None) -> datetime:
    """Lay the recent slice and the due work again at ``anchor`` (now's hour)."""
    anchor = anchor or hour_now()
    seeded_at = marker()["seeded_at"]
    with transaction.atomic(), connection.cursor() as c:
        c.execute("SET LOCAL statement_timeout = 0")
        _recent_delete(c, size)
        _recent(c, size, anchor)
        _marker_write(size, anchor, seeded_at)
    _vacuum()
    return anchor


def _vacuum() -> None:
    """As autovacuum would have left a table that old: statistics and a visibility map (so
    index-only scans stay index-only)."""
    with connection.cursor() as c:
        if connection.in_atomic_block:  # a test's transaction: statistics only
            c.execute("ANALYZE bookings_booking")
            return
        c.execute("VACUUM (ANALYZE) bookings_booking")
        c.execute("ANALYZE")


class _bulk_load:
    """Drop the table's secondary indexes and unique/exclusion constraints, switch FK
    triggers off, and build everything again at the end: far faster than maintaining ten
    indexes row by row. Inside the caller's transaction, so a failure leaves the schema
    as it was."""

    def __init__(self, cursor, table: str) -> None:
        self.c = cursor
        self.table = table

    def __enter__(self):
        c, table = self.c, self.table
        c.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'x') ORDER BY conname",
            [table],
        )
        self.constraints = c.fetchall()
        c.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) "
            "ORDER BY i.relname",
            [table],
        )
        self.indexes = c.fetchall()
        for name, _ in self.constraints:
            c.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            c.execute(f'DROP INDEX "{name}"')
        c.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        self.replica = bool(c.fetchone()[0])
        if self.replica:  # FK checks off for the load: the generator only writes valid ids
            c.execute("SET LOCAL session_replication_role = replica")
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None:
            return False
        c, table = self.c, self.table
        if self.replica:
            c.execute("SET LOCAL session_replication_role = DEFAULT")
        for _, definition in self.indexes:
            c.execute(definition)
        for name, definition in self.constraints:
            c.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return False


def _base(c, size: Size) -> None:
    clear(c, operator="Scale Bench Operator")
    # Core facilities exactly where tests/load/seed.py puts them; the rest 150+ km north.
    c.execute(
        """
        INSERT INTO facilities_facility
            (operator_id, name, slug, address, latitude, longitude, timezone, is_active,
             created_at)
        SELECT (SELECT id FROM parkme_operator WHERE slug = 'bench'),
               'Garage ' || i, 'garage-' || i, 'Street ' || i || ', Finland',
               CASE WHEN i <= %(core)s THEN 60.17 + ((i * 7919) %% 200 - 100) * 0.0007
                    ELSE 61.5 + ((i * 7919) %% 400) * 0.01 END,
               CASE WHEN i <= %(core)s THEN 24.94 + ((i * 104729) %% 200 - 100) * 0.0014
                    ELSE 22.0 + ((i * 104729) %% 400) * 0.02 END,
               'Europe/Helsinki', true, now()
        FROM generate_series(1, %(n)s) AS i ORDER BY i
        """,
        {"n": size.facilities, "core": size.core},
    )
    catalog_and_drivers(c)


_INSERT = """
    INSERT INTO bookings_booking
        (public_id, reference, driver_id, vehicle_id, facility_id, spot_id, spot_kind,
         starts_at, ends_at, status, price, currency, access_code, overstay_fee,
         request_fingerprint, hold_expires_at, checked_in_at, checked_out_at, anonymized_at,
         created_at, updated_at)
"""


def _insert(select: str) -> str:
    return _INSERT + select


def _history(c, size: Size, anchor: datetime) -> None:
    """size.history ended bookings over HISTORY_YEARS on every spot, evenly spaced per spot
    (so never overlapping), those past retention anonymised."""
    per_spot = -(-size.history // size.spots)  # ceil
    end = anchor - HISTORY_GAP
    span = timedelta(days=365 * HISTORY_YEARS)
    c.execute(
        _insert(
            """
        SELECT gen_random_uuid(), 'H' || to_hex(h.n),
               CASE WHEN h.anon THEN NULL ELSE v.owner_id END,
               CASE WHEN h.anon THEN NULL ELSE v.id END,
               s.facility_id, s.id, s.kind, h.starts_at, h.ends_at, h.status,
               10.50, 'EUR', '000000', 0, '', NULL,
               CASE WHEN h.status = 'completed' THEN h.starts_at END,
               CASE WHEN h.status = 'completed' THEN h.ends_at END,
               CASE WHEN h.anon THEN least(%(anchor)s, h.ends_at + %(retention)s
                                            + interval '1 day') END,
               h.starts_at - interval '2 days', h.ends_at
        FROM facilities_spot s
        JOIN vehicles_vehicle v ON v.plate_normalized = 'H' || s.id
        CROSS JOIN generate_series(0, %(per_spot)s - 1) j
        CROSS JOIN LATERAL (
            SELECT %(end)s - (j + 1) * (%(span)s / %(per_spot)s)
                   + ((s.id * 37 + j * 11) %% 48) * interval '30 minutes' AS starts_at
        ) t
        CROSS JOIN LATERAL (
            SELECT j::bigint * %(spots)s + s.id AS n, t.starts_at,
                   t.starts_at + (2 + (s.id + j) %% 5) * interval '1 hour' AS ends_at,
                   CASE WHEN (s.id + j) %% 20 < 17 THEN 'completed'
                        WHEN (s.id + j) %% 20 < 19 THEN 'cancelled'
                        ELSE 'expired' END AS status,
                   t.starts_at + (2 + (s.id + j) %% 5) * interval '1 hour'
                       < %(anchor)s - %(retention)s AS anon
        ) h
        WHERE j::bigint * %(spots)s + (s.id - 1) < %(history)s
        """
        ),
        {
            "anchor": anchor,
            "retention": retention(),
            "per_spot": per_spot,
            "end": end,
            "span": span,
            "spots": size.spots,
            "history": size.history,
        },
    )


def _recent(c, size: Size, anchor: datetime) -> None:
    """The recent slice and the due work at ``anchor``, on the core spots; the nightly
    anonymisation brought up to ``anchor`` and ``size.due`` rows past the cutoff left for
    the sweep."""
    ended = sql_list(ENDED_STATUSES)
    cutoff = anchor - retention()
    due_spots = len(DUE_KINDS) * size.due
    # What the nightly job would have anonymised by now (all of it on a fresh seed).
    c.execute(
        f"""
        UPDATE bookings_booking SET driver_id = NULL, vehicle_id = NULL,
               anonymized_at = %(anchor)s, updated_at = %(anchor)s
        WHERE anonymized_at IS NULL AND ends_at < %(cutoff)s AND status IN ({ended})
        """,  # noqa: S608 - only constants are interpolated
        {"anchor": anchor, "cutoff": cutoff},
    )
    # ... except the latest ``due`` of the core facilities: tonight's work.
    c.execute(
        f"""
        UPDATE bookings_booking b SET driver_id = v.owner_id, vehicle_id = v.id,
               anonymized_at = NULL
        FROM vehicles_vehicle v
        WHERE v.plate_normalized = 'H' || b.spot_id AND b.id IN (
            SELECT id FROM bookings_booking
            WHERE anonymized_at IS NOT NULL AND ends_at < %(cutoff)s
              AND facility_id <= %(core)s AND status IN ({ended})
            ORDER BY ends_at DESC LIMIT %(due)s)
        """,  # noqa: S608 - only constants are interpolated
        {"cutoff": cutoff, "core": size.core, "due": size.due},
    )
    core_spots = """
        SELECT s.*, row_number() OVER (ORDER BY s.id) - 1 AS rank,
               ((s.id * 37) %% 48) * interval '30 minutes' AS stagger
        FROM facilities_spot s WHERE s.facility_id <= %(core)s
    """
    # The recent slice: k = -1 three days ago, 0 in the last 24 h, 1..3 ahead; the spots
    # that carry due work have no k = 0 (their due booking is in that place).
    c.execute(
        _insert(
            f"""
        SELECT gen_random_uuid(), 'R' || to_hex(s.id * 16 + k + 1), v.owner_id, v.id,
               s.facility_id, s.id, s.kind, r.starts_at, r.ends_at, r.status,
               10.50, 'EUR', '000000', 0, '',
               CASE WHEN r.status = 'held' THEN %(anchor)s + interval '10 minutes' END,
               CASE WHEN r.status IN ('completed', 'active') THEN r.starts_at END,
               CASE WHEN r.status = 'completed' THEN r.ends_at END,
               NULL, r.starts_at - interval '2 days', least(r.ends_at, %(anchor)s)
        FROM ({core_spots}) s
        JOIN vehicles_vehicle v ON v.plate_normalized = 'H' || s.id
        CROSS JOIN unnest(%(ks)s::int[]) k
        CROSS JOIN LATERAL (
            SELECT %(anchor)s - interval '24 hours' + k * interval '72 hours' + s.stagger
                   AS starts_at
        ) t
        CROSS JOIN LATERAL (
            SELECT t.starts_at, t.starts_at + (2 + (s.id + k) %% 5) * interval '1 hour' AS ends_at
        ) w
        CROSS JOIN LATERAL (
            SELECT w.starts_at, w.ends_at,
                   CASE WHEN k = -1 AND s.id %% 10 = 0 THEN 'cancelled'
                        WHEN k = -1 AND s.id %% 10 = 1 THEN 'expired'
                        WHEN k <= 0 AND w.ends_at <= %(anchor)s THEN 'completed'
                        WHEN k = 0 THEN 'active'
                        WHEN k = 1 AND s.id %% 50 = 1 THEN 'held'
                        ELSE 'confirmed' END AS status
        ) r
        WHERE NOT (k = 0 AND s.rank < %(due_spots)s)
        """  # noqa: S608 - only constants are interpolated
        ),
        {"anchor": anchor, "core": size.core, "ks": list(RECENT_K), "due_spots": due_spots},
    )
    # The due work: kind = rank // due, each due at ``anchor``.
    c.execute(
        _insert(
            f"""
        SELECT gen_random_uuid(), 'D' || to_hex(s.id), v.owner_id, v.id,
               s.facility_id, s.id, s.kind, %(anchor)s + d.starts, %(anchor)s + d.ends,
               d.status, 10.50, 'EUR', '000000', 0, '',
               CASE WHEN d.status = 'held' THEN %(anchor)s - interval '5 minutes' END,
               CASE WHEN d.status = 'active' THEN %(anchor)s + d.starts END,
               NULL, NULL, %(anchor)s - interval '2 days', %(anchor)s - interval '1 hour'
        FROM ({core_spots}) s
        JOIN vehicles_vehicle v ON v.plate_normalized = 'H' || s.id
        JOIN (VALUES
            (0, 'held', interval '24 hours', interval '26 hours'),
            (1, 'confirmed', interval '-2 hours', interval '1 hour'),
            (2, 'active', interval '-4 hours', interval '-1 hour'),
            (3, 'active', interval '-20 hours', interval '-16 hours'),
            (4, 'confirmed', interval '15 minutes', interval '135 minutes'),
            (5, 'active', interval '-2 hours', interval '10 minutes')
        ) d (kind, status, starts, ends) ON d.kind = s.rank / %(due)s
        WHERE s.rank < %(due_spots)s
        """  # noqa: S608 - only constants are interpolated
        ),
        {"anchor": anchor, "core": size.core, "due": size.due, "due_spots": due_spots},
    )
    # The stale ones were flagged as overstays long ago (so flag_overstays has exactly the
    # overstays kind to do).
    c.execute(
        """
        INSERT INTO bookings_notification (booking_id, kind, status, attempts, last_error,
                                           created_at, sent_at)
        SELECT id, 'overstay', 'sent', 1, '', ends_at + interval '20 minutes',
               ends_at + interval '21 minutes'
        FROM bookings_booking
        WHERE reference LIKE 'D%%' AND status = 'active' AND ends_at <= %(stale)s
        """,
        {"stale": anchor - timedelta(hours=16)},
    )


def _recent_delete(c, size: Size) -> None:
    """Drop the recent slice, the due rows and whatever the benchmark booked: everything
    not anonymised that ends after history does (the retention index finds them)."""
    found = marker()
    since = found["anchor"] - timedelta(days=5)
    c.execute(
        "CREATE TEMP TABLE scale_recent ON COMMIT DROP AS SELECT id FROM bookings_booking "
        "WHERE anonymized_at IS NULL AND ends_at > %s",
        [since],
    )
    for table in ("bookings_notification", "bookings_bookingevent", "bookings_gateevent"):
        c.execute(f"DELETE FROM {table} WHERE booking_id IN (SELECT id FROM scale_recent)")  # noqa: S608
    c.execute("DELETE FROM bookings_booking WHERE id IN (SELECT id FROM scale_recent)")


# --- checks (tests/load/test_scale_seed.py, and the bench after seeding) -------------------


def status_mix() -> dict[str, int]:
    with connection.cursor() as c:
        c.execute("SELECT status, count(*) FROM bookings_booking GROUP BY status")
        return dict(c.fetchall())


def live_overlaps() -> int:
    """Pairs of live bookings overlapping on a spot or for a vehicle (must be 0)."""
    live = sql_list(LIVE_STATUSES)
    with connection.cursor() as c:
        c.execute(
            f"""
            SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
              ON a.id < b.id AND (a.spot_id = b.spot_id OR a.vehicle_id = b.vehicle_id)
             AND a.starts_at < b.ends_at AND b.starts_at < a.ends_at
            WHERE a.status IN ({live}) AND b.status IN ({live})
            """  # noqa: S608 - only constants are interpolated
        )
        return int(c.fetchone()[0])


def core_facility_ids(size: Size) -> list[int]:
    with connection.cursor() as c:
        c.execute("SELECT id FROM facilities_facility WHERE id <= %s ORDER BY id", [size.core])
        return [row[0] for row in c.fetchall()]


def main() -> int:
    import django

    parser = argparse.ArgumentParser(description="seed one size of the scale bench")
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    django.setup()
    prepare(SIZES[args.size], reseed=args.reseed)
    print(status_mix())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
