"""tests/load/scale_seed.py at a tiny size: the dataset `make bench-scale` measures keeps
its promises (no overlapping live bookings, the status mix, history anonymised past
retention, exactly the same due work for every sweep), after seeding and after a refresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from bookings import sweeps
from bookings.models import Booking
from bookings.states import ENDED_STATUSES, LIVE_STATUSES
from tests.load import scale_seed

pytestmark = pytest.mark.django_db

TINY = scale_seed.Size("tiny", "unused", bookings=3000, facilities=3, due=10)


def _check(anchor) -> None:
    assert Booking.objects.count() == TINY.bookings
    assert scale_seed.live_overlaps() == 0

    mix = scale_seed.status_mix()
    assert set(mix) == {"held", "confirmed", "active", "completed", "cancelled", "expired"}
    ended = sum(mix[s] for s in ENDED_STATUSES)
    assert ended > sum(mix[s] for s in LIVE_STATUSES)  # most of it is history
    assert mix["completed"] > mix["cancelled"] > 0

    cutoff = anchor - scale_seed.retention()
    past_retention = Booking.objects.filter(ends_at__lt=cutoff)
    assert past_retention.count() > TINY.due
    # Everything past retention was anonymised, as the nightly job would have, but the
    # latest ``due``: tonight's work.
    assert past_retention.filter(anonymized_at__isnull=True).count() == TINY.due
    anonymised = Booking.objects.filter(anonymized_at__isnull=False)
    assert not anonymised.filter(ends_at__gte=cutoff).exists()
    assert not anonymised.filter(driver__isnull=False).exists()
    assert not anonymised.filter(vehicle__isnull=False).exists()
    assert Booking.objects.filter(starts_at__lt=anchor - timedelta(days=365 * 2)).exists()

    # The same due work for every sweep, at every size.
    for name, sweep in sweeps.SWEEPS.items():
        assert sweep.due(anchor).count() == TINY.due, name


def test_tiny_dataset_keeps_its_promises():
    anchor = scale_seed.seed(TINY)
    assert scale_seed.marker()["anchor"] == anchor
    assert scale_seed.dataset_ready(TINY)
    assert not scale_seed.dataset_ready(scale_seed.SIZES["2m"])
    _check(anchor)

    # A day later: the recent slice is laid again, tonight's anonymisation catches up.
    later = scale_seed.refresh(TINY, anchor=anchor + timedelta(days=1))
    assert scale_seed.marker()["anchor"] == later
    _check(later)
    with connection.cursor() as c:
        c.execute("SELECT count(*) FROM bookings_booking WHERE reference LIKE 'D%%'")
        assert c.fetchone()[0] == len(scale_seed.DUE_KINDS) * TINY.due
