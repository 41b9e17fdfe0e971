"""Rate boards in the staff admin: the price preview and who may see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def _preview(client, version, **query):
    return client.get(
        reverse("admin:facilities_rateversion_preview", args=[version.pk]), query or None
    )


def test_the_preview_itemises_a_window_on_the_board(world, admin_a, as_user):
    # The world's boards charge 3.00 an hour, capped at 20.00 a day.
    page = _preview(
        as_user(admin_a),
        world.a.rate_version,
        starts="2031-03-03T08:00",
        ends="2031-03-03T10:30",
        kind="",
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="price-total">9.00<' in html  # three started hours
    assert "Mon 2031-03-03 08:00" in html  # lines in the facility's local time


def test_a_window_that_ends_before_it_starts_is_explained_not_priced(world, admin_a, as_user):
    page = _preview(
        as_user(admin_a), world.a.rate_version, starts="2031-03-03T10:00", ends="2031-03-03T09:00"
    )

    html = page.content.decode()
    assert page.status_code == 200
    assert "Leave after you enter." in html
    assert "price-total" not in html


def test_attendants_preview_their_boards_and_nobody_previews_another_operators(
    world, attendant_a, admin_a, as_user
):
    own = _preview(
        as_user(attendant_a),
        world.a.rate_version,
        starts="2031-03-03T08:00",
        ends="2031-03-03T09:00",
    )
    foreign = _preview(as_user(admin_a), world.b.rate_version)

    assert own.status_code == 200
    assert 'id="price-total">3.00<' in own.content.decode()
    assert foreign.status_code == 302  # answered like a missing board
