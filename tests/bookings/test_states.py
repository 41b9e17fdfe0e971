"""The booking state machine: every (action, status, actor) pair, allowed or refused in one
place, and every service, sweep and the gate going through it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings import services
from bookings.models import Booking, BookingEvent
from bookings.states import (
    TRANSITIONS,
    Action,
    ActorKind,
    BookingStatus,
    statuses_for,
    transition_check,
)
from bookings.transitions import Claimed, booking_transition_bulk
from parkme.errors import InvalidTransition
from tests import factories

HELD, CONFIRMED, ACTIVE = BookingStatus.HELD, BookingStatus.CONFIRMED, BookingStatus.ACTIVE
COMPLETED, EXPIRED, CANCELLED = (
    BookingStatus.COMPLETED,
    BookingStatus.EXPIRED,
    BookingStatus.CANCELLED,
)
DRIVER, STAFF, DEVICE, SYSTEM = (
    ActorKind.DRIVER,
    ActorKind.STAFF,
    ActorKind.DEVICE,
    ActorKind.SYSTEM,
)

# The lifecycle as the product promises it, written out independently of the module:
# (action, from) → (to, who may do it). Everything not listed is refused.
EXPECTED = {
    (Action.HOLD, ""): (HELD, {DRIVER}),
    (Action.BOOK, ""): (CONFIRMED, {DRIVER}),
    (Action.CONFIRM, HELD): (CONFIRMED, {DRIVER, STAFF}),
    (Action.CANCEL, HELD): (CANCELLED, {DRIVER, STAFF}),
    (Action.CANCEL, CONFIRMED): (CANCELLED, {DRIVER, STAFF}),
    (Action.EXPIRE, HELD): (EXPIRED, {SYSTEM}),
    (Action.EXPIRE, CONFIRMED): (EXPIRED, {SYSTEM}),
    (Action.CHECK_IN, CONFIRMED): (ACTIVE, {DRIVER, STAFF, DEVICE}),
    (Action.CHECK_OUT, ACTIVE): (COMPLETED, {DRIVER, STAFF, DEVICE, SYSTEM}),
    (Action.EXTEND, HELD): (HELD, {DRIVER, STAFF}),
    (Action.EXTEND, CONFIRMED): (CONFIRMED, {DRIVER, STAFF}),
    (Action.EXTEND, ACTIVE): (ACTIVE, {DRIVER, STAFF}),
}
ALL_FROM = ["", *BookingStatus.values]


@pytest.mark.parametrize(
    ("action", "from_status", "actor"),
    list(itertools.product(Action.values, ALL_FROM, ActorKind.values)),
)
def test_every_move_is_allowed_exactly_as_the_lifecycle_says(action, from_status, actor):
    expected = EXPECTED.get((action, from_status))
    if expected is not None and actor in expected[1]:
        move = transition_check(action=action, from_status=from_status, actor_kind=actor)
        assert move.to_status == expected[0]
    else:
        with pytest.raises(InvalidTransition) as refused:
            transition_check(action=action, from_status=from_status, actor_kind=actor)
        assert refused.value.code == "invalid_transition"
        assert refused.value.status_code == 409


def test_ended_bookings_can_never_move_again():
    for status in (COMPLETED, EXPIRED, CANCELLED):
        assert not [t for t in TRANSITIONS if t.from_status == status]


# --- through the services: the one path, with its audit trail ------------------------------


def _booking(status: str, **fields) -> Booking:
    now = timezone.now()
    starts = fields.pop("starts_at", now + timedelta(minutes=10))
    return factories.BookingFactory(
        status=status,
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        spot=factories.SpotFactory(zone__facility=fields.pop("facility")),
        **fields,
    )


SERVICES = {
    Action.CONFIRM: lambda b, actor: services.booking_confirm(booking=b, actor=actor),
    Action.CANCEL: lambda b, actor: services.booking_cancel(booking=b, actor=actor),
    Action.CHECK_IN: lambda b, actor: services.booking_check_in(booking=b, actor=actor),
    Action.CHECK_OUT: lambda b, actor: services.booking_check_out(booking=b, actor=actor),
    Action.EXTEND: lambda b, actor: services.booking_extend(
        booking=b, actor=actor, ends_at=b.ends_at + timedelta(hours=1)
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "status"), list(itertools.product(SERVICES, BookingStatus.values))
)
def test_each_driver_action_on_each_status_moves_and_records_or_is_refused(action, status):
    facility = factories.FacilityFactory()
    factories.RateVersionFactory(facility=facility)
    booking = _booking(status, facility=facility)
    expected = EXPECTED.get((action, status))
    if expected is None:
        with pytest.raises(InvalidTransition):
            SERVICES[action](booking, booking.driver)
        booking.refresh_from_db()
        assert booking.status == status  # nothing changed
        assert not BookingEvent.objects.filter(booking=booking).exists()
        return
    SERVICES[action](booking, booking.driver)
    booking.refresh_from_db()
    assert booking.status == expected[0]
    event = BookingEvent.objects.get(booking=booking)
    assert (event.from_status, event.to_status, event.actor_kind) == (status, expected[0], DRIVER)
    assert event.actor == booking.driver


@pytest.mark.django_db
def test_a_gate_device_may_check_in_but_not_cancel():
    facility = factories.FacilityFactory()
    factories.RateVersionFactory(facility=facility)
    booking = _booking(CONFIRMED, facility=facility)
    device = factories.UserFactory()
    with pytest.raises(InvalidTransition):
        services.booking_cancel(booking=booking, actor=device, actor_kind=DEVICE)
    services.booking_check_in(booking=booking, actor=device, actor_kind=DEVICE)
    booking.refresh_from_db()
    assert booking.status == ACTIVE


@pytest.mark.django_db
def test_a_bulk_move_skips_rows_the_table_does_not_allow_and_records_the_rest_in_bulk(
    django_assert_max_num_queries,
):
    facility = factories.FacilityFactory()
    factories.RateVersionFactory(facility=facility)
    held = _booking(HELD, facility=facility)
    confirmed = _booking(CONFIRMED, facility=facility)
    active = _booking(ACTIVE, facility=facility)  # a sweep may never expire a parked car
    rows = [Claimed(b.pk, b.facility_id, b.status) for b in (held, confirmed, active)]
    with django_assert_max_num_queries(4):  # two updates, one insert of events, no per-row
        moved = booking_transition_bulk(
            rows=rows, action=Action.EXPIRE, now=timezone.now(), reason="test"
        )
    assert sorted(moved) == sorted([held.pk, confirmed.pk])
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {held.pk: EXPIRED, confirmed.pk: EXPIRED, active.pk: ACTIVE}
    events = list(
        BookingEvent.objects.order_by("booking_id").values_list("from_status", "to_status")
    )
    assert sorted(events) == sorted([(HELD, EXPIRED), (CONFIRMED, EXPIRED)])
    assert statuses_for(Action.EXPIRE) == (HELD, CONFIRMED)


@pytest.mark.django_db
def test_cancel_before_the_start_refunds_everything():
    facility = factories.FacilityFactory()
    factories.RateVersionFactory(facility=facility)
    booking = _booking(CONFIRMED, facility=facility)
    cancelled = services.booking_cancel(booking=booking, actor=booking.driver)
    # The price stands as quoted; no fee, so all of it is due back.
    assert (cancelled.price, cancelled.cancellation_fee) == (Decimal("6.00"), Decimal("0.00"))
