"""Output serializers copy their declared fields shallowly (parkme.api.fields.OutputSerializer):
each rendering still gets fields of its own."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bookings.models import Booking
from bookings.representations import BookingOutput
from tests.concurrency import race
from tests.factories import BookingFactory, FacilityFactory, SpotFactory, ZoneFactory

pytestmark = pytest.mark.django_db


def _bookings() -> list[Booking]:
    for n, tz in enumerate(["Europe/Helsinki", "America/New_York", "Asia/Tokyo"]):
        facility = FacilityFactory(slug=f"rep-{n}", timezone=tz)
        zone = ZoneFactory(facility=facility, name=f"Z{n}", level=n - 1)
        for m in range(3):
            spot = SpotFactory(zone=zone, code=f"R{n}{m}")
            BookingFactory(spot=spot)
    return list(Booking.objects.select_related("facility", "spot__zone", "vehicle").order_by("id"))


def test_each_rendering_gets_its_own_fields_and_the_declared_ones_stay_unbound():
    bookings = _bookings()
    first, second = BookingOutput(bookings[0]), BookingOutput(bookings[-1])
    assert first.fields["status"] is not second.fields["status"]
    assert first.fields["spot"] is not second.fields["spot"]
    assert first.fields["status"].parent is first
    assert BookingOutput._declared_fields["status"].parent is None  # type: ignore[attr-defined]
    assert first.data["facility"]["timezone"] == "Europe/Helsinki"
    assert second.data["facility"]["timezone"] == "Asia/Tokyo"
    assert second.data["starts_at"].endswith("+09:00")


def test_threads_rendering_at_once_each_get_their_own_booking():
    bookings = _bookings()
    expected = {str(b.public_id): BookingOutput(b).data for b in bookings}

    def render() -> None:
        for _ in range(30):
            for booking in bookings:
                data = BookingOutput(booking).data
                assert data == expected[data["id"]]

    race([render] * 4)
    assert {d["spot"]["zone"] for d in expected.values()} == {"Z0", "Z1", "Z2"}
    assert len({d["starts_at"][-6:] for d in expected.values()}) == 3  # three offsets


def test_a_list_renders_every_booking_in_its_own_facility_time():
    bookings = _bookings()
    rendered = BookingOutput(bookings, many=True).data
    assert [r["id"] for r in rendered] == [str(b.public_id) for b in bookings]
    for booking, row in zip(bookings, rendered, strict=True):
        local = booking.starts_at.astimezone(booking.facility.tz)
        assert row["starts_at"] == local.isoformat()
        assert row["ends_at"] == (local + timedelta(hours=2)).isoformat()
