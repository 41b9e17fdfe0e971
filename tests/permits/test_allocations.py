"""Spaces allocated to permit products are withheld from bookings while the products' hours
are in force: search, detail and the booking engine agree, and staff cannot allocate what
bookings already hold."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.models import Booking, PermitProduct
from bookings.permits import permit_product_save
from facilities.models import Facility
from parkme.errors import ValidationFailed
from tests.api.conftest import api_client_for, booking_body
from tests.factories import (
    ALL_WEEK,
    WORKDAYS,
    BookingFactory,
    UserFactory,
    VehicleFactory,
    permit_product,
)

pytestmark = pytest.mark.django_db

HELSINKI = ZoneInfo("Europe/Helsinki")


def _next(weekday: int, hour: int) -> datetime:
    """The next local ``weekday`` (0 = Monday) at least two days ahead, at ``hour``."""
    day = datetime.now(HELSINKI).date() + timedelta(days=2)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, tzinfo=HELSINKI)


def _views(client, facility: Facility, starts: datetime, hours: int = 2) -> tuple[int, int, int]:
    """(search available, detail available, detail withheld) for standard spots."""
    window = {
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=hours)).isoformat(),
    }
    search = client.get(
        "/api/v1/facilities/",
        {"lat": facility.latitude, "lng": facility.longitude, "kind": "standard", **window},
    ).json()["results"]
    detail = client.get(f"/api/v1/facilities/{facility.id}/", window).json()
    standard = next(row for row in detail["availability"] if row["kind"] == "standard")
    return search[0]["available_spots"], standard["available"], standard["withheld"]


def _book(client, facility, car, starts, hours=2):
    return client.post(
        "/api/v1/bookings/", booking_body(facility, car, starts, hours=hours), format="json"
    )


def test_a_commuter_allocation_is_withheld_on_weekdays_only(garage):
    """3 standard spots, 2 allocated Mon–Fri 06–20: a weekday has 1 left, a Saturday 3."""
    permit_product(garage, hours=((WORKDAYS, "06:00", "20:00"),), allocated_spaces=2)
    client = api_client_for(UserFactory())
    assert _views(client, garage, _next(2, 9)) == (1, 1, 2)
    assert _views(client, garage, _next(5, 9)) == (3, 3, 0)
    # A window that only touches the hours (19:00–21:00 on a Wednesday) is withheld too.
    assert _views(client, garage, _next(2, 19)) == (1, 1, 2)
    # A window that ends when they begin is not (half-open).
    assert _views(client, garage, _next(2, 4)) == (3, 3, 0)


def test_search_detail_and_engine_agree_as_bookings_fill_up(
    garage, django_capture_on_commit_callbacks
):
    permit_product(garage, hours=((ALL_WEEK, "17:00", "09:00"),), allocated_spaces=1)
    starts = _next(3, 18)
    client = api_client_for(UserFactory())
    assert _views(client, garage, starts) == (2, 2, 1)
    drivers = [UserFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):  # cached answers are dropped
        answers = [
            _book(api_client_for(d), garage, VehicleFactory(owner=d), starts).status_code
            for d in drivers
        ]
    assert answers == [201, 201, 409]
    assert _views(client, garage, starts) == (0, 0, 1)
    # Out of the product's hours the withheld spot is bookable.
    late = VehicleFactory(owner=drivers[2])
    assert _book(api_client_for(drivers[2]), garage, late, _next(3, 11)).status_code == 201


def test_the_refusal_is_no_availability_and_changes_nothing(garage):
    permit_product(garage, allocated_spaces=3)  # 24/7, every standard spot
    driver = UserFactory()
    r = _book(api_client_for(driver), garage, VehicleFactory(owner=driver), _next(1, 10))
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_availability"
    assert not Booking.objects.exists()


def test_an_extension_into_permit_hours_is_refused_when_only_allocated_spaces_are_left(garage):
    """Two standard spots, one allocated at night: a day booking may run on into the night
    only while the other spot is free."""
    garage.spots.filter(code="S3").update(is_active=False)
    permit_product(garage, hours=((ALL_WEEK, "17:00", "09:00"),), allocated_spaces=1)
    starts = _next(3, 13)
    driver = UserFactory()
    client = api_client_for(driver)
    made = _book(client, garage, VehicleFactory(owner=driver), starts, hours=3).json()
    other = garage.spots.filter(kind="standard", is_active=True).exclude(code=made["spot"]["code"])
    BookingFactory(spot=other.get(), starts_at=_next(3, 17), ends_at=_next(3, 19))

    def extend(hours: float):
        return client.post(
            f"/api/v1/bookings/{made['id']}/extend/",
            {"ends_at": (starts + timedelta(hours=hours)).isoformat()},
            format="json",
        )

    r = extend(6)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "no_availability"
    assert Booking.objects.get(public_id=made["id"]).ends_at == starts + timedelta(hours=3)
    assert extend(3.5).status_code == 200  # until 16:30, before the night begins


def test_a_product_on_another_kind_withholds_nothing_from_standard(garage):
    permit_product(garage, spot_kind="ev", allocated_spaces=1)
    client = api_client_for(UserFactory())
    starts = _next(2, 9)
    assert _views(client, garage, starts) == (3, 3, 0)
    detail = client.get(
        f"/api/v1/facilities/{garage.id}/",
        {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=1)).isoformat()},
    ).json()
    ev = next(row for row in detail["availability"] if row["kind"] == "ev")
    assert (ev["available"], ev["withheld"]) == (0, 1)


# --- staff cannot allocate what bookings hold ---------------------------------------------


def test_an_allocation_bookings_already_need_is_refused_and_not_saved(garage):
    starts = _next(2, 9)
    for spot in garage.spots.filter(kind="standard")[:2]:
        BookingFactory(spot=spot, starts_at=starts, ends_at=starts + timedelta(hours=2))
    product = PermitProduct(
        facility=garage, name="Commuter", monthly_price="100.00", allocated_spaces=2
    )
    with pytest.raises(ValidationFailed) as refused:
        permit_product_save(
            product=product, hours=[{"weekdays": WORKDAYS, "starts": "06:00", "ends": "20:00"}]
        )
    assert "at most 1 can be allocated" in refused.value.message
    assert not PermitProduct.objects.exists()
    product = PermitProduct(
        facility=garage, name="Commuter", monthly_price="100.00", allocated_spaces=1
    )
    permit_product_save(
        product=product, hours=[{"weekdays": WORKDAYS, "starts": "06:00", "ends": "20:00"}]
    )
    assert PermitProduct.objects.get().hours.count() == 1


def test_nights_can_be_allocated_when_bookings_fill_only_the_days(garage):
    starts = _next(2, 9)
    for spot in garage.spots.filter(kind="standard"):
        BookingFactory(spot=spot, starts_at=starts, ends_at=starts + timedelta(hours=2))
    product = PermitProduct(
        facility=garage, name="Resident", monthly_price="90.00", allocated_spaces=3
    )
    permit_product_save(
        product=product, hours=[{"weekdays": ALL_WEEK, "starts": "17:00", "ends": "09:00"}]
    )
    assert PermitProduct.objects.filter(name="Resident").exists()


def test_two_products_together_may_not_exceed_the_spots(garage):
    permit_product(garage, hours=((ALL_WEEK, "17:00", "09:00"),), allocated_spaces=2)
    product = PermitProduct(
        facility=garage, name="Day and night", monthly_price="150.00", allocated_spaces=2
    )
    with pytest.raises(ValidationFailed):
        permit_product_save(
            product=product, hours=[{"weekdays": ALL_WEEK, "starts": "00:00", "ends": "00:00"}]
        )
    assert PermitProduct.objects.count() == 1


def test_a_new_allocation_reaches_cached_search_and_detail_at_once(
    garage, django_capture_on_commit_callbacks
):
    client = api_client_for(UserFactory())
    starts = _next(2, 9)
    assert _views(client, garage, starts) == (3, 3, 0)  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        permit_product(garage, allocated_spaces=2)
    assert _views(client, garage, starts) == (1, 1, 2)
    with django_capture_on_commit_callbacks(execute=True):
        PermitProduct.objects.get().hours.get().delete()  # no hours: nothing withheld
    assert _views(client, garage, starts) == (3, 3, 0)
