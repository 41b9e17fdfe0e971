"""PostgreSQL itself refuses double bookings, whatever the Python code does."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction
from django.db.utils import DatabaseError

from bookings.models import Booking
from bookings.states import BookingStatus
from tests.factories import BookingFactory, SpotFactory, VehicleFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(make_rows) -> list[str]:
    """Run each callable in its own thread and connection, released at the same moment."""
    barrier = threading.Barrier(len(make_rows))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(make_row):
        try:
            barrier.wait()
            with transaction.atomic():
                make_row()
            result = "committed"
        except IntegrityError as exc:
            result = f"refused:{exc.__cause__.diag.constraint_name}"
        except OperationalError as exc:
            # Two uncommitted rows that exclude each other may be resolved by PostgreSQL's
            # deadlock detector instead: still exactly one of them is refused.
            if getattr(exc.__cause__, "sqlstate", "") != "40P01":
                raise
            result = "refused:deadlock"
        except DatabaseError as exc:  # pragma: no cover - reported for diagnosis
            result = f"error:{exc}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(m,)) for m in make_rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def _booking_kwargs(spot, vehicle, starts_at, hours=2, status=BookingStatus.CONFIRMED):
    return dict(
        spot=spot,
        facility=spot.facility,
        vehicle=vehicle,
        driver=vehicle.owner,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        status=status,
        price="6.00",
        currency="EUR",
    )


def test_two_connections_racing_for_one_spot_exactly_one_commits():
    spot = SpotFactory()
    v1, v2 = VehicleFactory(), VehicleFactory()
    start = BookingFactory.starts_at.function()
    outcomes = _race(
        [
            lambda: Booking.objects.create(**_booking_kwargs(spot, v1, start)),
            lambda: Booking.objects.create(**_booking_kwargs(spot, v2, start + timedelta(hours=1))),
        ]
    )
    assert outcomes[0] == "committed"
    assert outcomes[1] in {"refused:booking_no_spot_overlap", "refused:deadlock"}
    assert Booking.objects.filter(spot=spot).count() == 1


def test_one_vehicle_cannot_hold_two_spots_at_once():
    s1, s2 = SpotFactory(), SpotFactory()
    vehicle = VehicleFactory()
    start = BookingFactory.starts_at.function()
    outcomes = _race(
        [
            lambda: Booking.objects.create(**_booking_kwargs(s1, vehicle, start)),
            lambda: Booking.objects.create(**_booking_kwargs(s2, vehicle, start)),
        ]
    )
    assert outcomes[0] == "committed"
    assert outcomes[1] in {"refused:booking_no_vehicle_overlap", "refused:deadlock"}
    assert Booking.objects.filter(vehicle=vehicle).count() == 1


def test_back_to_back_bookings_on_one_spot_both_commit():
    spot = SpotFactory()
    v1, v2 = VehicleFactory(), VehicleFactory()
    start = BookingFactory.starts_at.function()
    outcomes = _race(
        [
            lambda: Booking.objects.create(**_booking_kwargs(spot, v1, start)),
            lambda: Booking.objects.create(**_booking_kwargs(spot, v2, start + timedelta(hours=2))),
        ]
    )
    assert outcomes == ["committed", "committed"]


@pytest.mark.parametrize(
    "status", [BookingStatus.CANCELLED, BookingStatus.EXPIRED, BookingStatus.COMPLETED]
)
def test_ended_bookings_do_not_block_the_spot(status):
    spot = SpotFactory()
    start = BookingFactory.starts_at.function()
    BookingFactory(spot=spot, starts_at=start, status=status)
    BookingFactory(spot=spot, starts_at=start)  # a live one on the same window
    assert Booking.objects.filter(spot=spot).count() == 2


def test_a_booking_inside_another_is_refused():
    spot = SpotFactory()
    start = BookingFactory.starts_at.function()
    BookingFactory(spot=spot, starts_at=start, ends_at=start + timedelta(hours=4))
    with pytest.raises(IntegrityError, match="booking_no_spot_overlap"):
        BookingFactory(
            spot=spot, starts_at=start + timedelta(hours=1), ends_at=start + timedelta(hours=2)
        )


def test_held_and_active_bookings_block_like_confirmed_ones():
    spot = SpotFactory()
    start = BookingFactory.starts_at.function()
    BookingFactory(spot=spot, starts_at=start, status=BookingStatus.HELD)
    with pytest.raises(IntegrityError, match="booking_no_spot_overlap"):
        BookingFactory(spot=spot, starts_at=start, status=BookingStatus.ACTIVE)


def test_the_constraints_need_no_btree_gist_extension():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension")
        assert "btree_gist" not in {row[0] for row in cursor.fetchall()}
