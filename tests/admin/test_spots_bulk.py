"""Spots in bulk: a run of codes from a zone in one insert, maintenance on and off in bulk."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.urls import reverse

from facilities.models import Spot, SpotStatus
from facilities.services import spot_bulk_create, spot_set_maintenance
from parkme import cache_versions
from parkme.errors import ValidationFailed
from tests import factories


def test_bulk_create_makes_a_zero_padded_run_in_one_insert(
    world, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    zone = world.a.zone
    version = cache_versions.versions([zone.facility_id])[zone.facility_id]

    with (
        django_capture_on_commit_callbacks(execute=True),
        django_assert_max_num_queries(6) as captured,
    ):
        spots = spot_bulk_create(zone=zone, prefix="P1-E", first=1, last=40, width=3, kind="ev")

    codes = list(
        Spot.objects.filter(zone=zone, code__startswith="P1-E").values_list("code", flat=True)
    )
    assert len(spots) == 40
    assert codes[0] == "P1-E001"
    assert codes[-1] == "P1-E040"
    assert set(Spot.objects.filter(code__startswith="P1-E").values_list("kind", "facility_id")) == {
        ("ev", zone.facility_id)
    }
    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1
    # Bulk inserts send no signals: the service itself invalidates cached availability.
    assert cache_versions.versions([zone.facility_id])[zone.facility_id] == version + 1


def test_bulk_create_refuses_codes_already_taken_and_creates_nothing(world):
    zone = world.a.zone
    factories.SpotFactory(zone=zone, code="P1-S005")
    before = Spot.objects.count()

    with pytest.raises(ValidationFailed) as refused:
        spot_bulk_create(zone=zone, prefix="P1-S", first=1, last=10, width=3, kind="standard")

    assert "1 of these codes already exist: P1-S005" in refused.value.message
    assert Spot.objects.count() == before


@pytest.mark.parametrize(
    ("first", "last", "prefix", "kind", "why"),
    [
        (10, 1, "X", "standard", "range"),
        (1, 5000, "X", "standard", "At most"),
        (1, 3, "X" * 40, "standard", "at most 32 characters"),
        (1, 3, "X", "spaceship", "Unknown kind"),
    ],
)
def test_bulk_create_explains_what_is_wrong(world, first, last, prefix, kind, why):
    with pytest.raises(ValidationFailed) as refused:
        spot_bulk_create(zone=world.a.zone, prefix=prefix, first=first, last=last, kind=kind)

    assert why in refused.value.message


def test_admin_adds_a_run_of_spots_from_the_zone_page(world, admin_a, as_user):
    client = as_user(admin_a)
    zone = world.a.zone
    zone_page = client.get(reverse("admin:facilities_zone_change", args=[zone.pk]))

    response = client.post(
        reverse("admin:facilities_zone_add_spots", args=[zone.pk]),
        {"prefix": "P2-C", "first": "1", "last": "12", "width": "2", "kind": "compact"},
        follow=True,
    )

    assert reverse("admin:facilities_zone_add_spots", args=[zone.pk]) in zone_page.content.decode()
    assert Spot.objects.filter(zone=zone, kind="compact").count() == 12
    html = response.content.decode()
    assert "Added 12 compact spots P2-C01…P2-C12." in html
    assert "P2-C07" in html  # lands on the zone's spot list
    assert LogEntry.objects.filter(action_flag=CHANGE, object_id=str(zone.pk)).exists()
    assert LogEntry.objects.filter(action_flag=ADDITION, user=admin_a).count() == 12


def test_admin_sees_the_clash_instead_of_a_half_made_run(world, admin_a, as_user):
    before = Spot.objects.count()

    response = as_user(admin_a).post(
        reverse("admin:facilities_zone_add_spots", args=[world.a.zone.pk]),
        {"prefix": "SPOT-A", "first": "1", "last": "3", "width": "0", "kind": "standard"},
    )

    assert response.status_code == 200
    assert "2 of these codes already exist: SPOT-A1, SPOT-A2" in response.content.decode()
    assert Spot.objects.count() == before


def test_attendant_cannot_add_spots(world, attendant_a, as_user):
    client = as_user(attendant_a)
    zone_page = client.get(reverse("admin:facilities_zone_change", args=[world.a.zone.pk]))

    response = client.post(
        reverse("admin:facilities_zone_add_spots", args=[world.a.zone.pk]),
        {"prefix": "X", "first": "1", "last": "3", "width": "0", "kind": "standard"},
    )

    assert "Add spots in bulk" not in zone_page.content.decode()
    assert response.status_code == 403
    assert not Spot.objects.filter(code__startswith="X").exists()


def test_maintenance_in_bulk_and_back(world, django_capture_on_commit_callbacks):
    facility_id = world.a.facility.pk
    spots = Spot.objects.filter(facility_id=facility_id)
    version = cache_versions.versions([facility_id])[facility_id]

    with django_capture_on_commit_callbacks(execute=True):
        changed = spot_set_maintenance(spots=spots, in_maintenance=True)
    again = spot_set_maintenance(spots=spots, in_maintenance=True)

    assert changed == 2
    assert again == 0
    assert set(spots.values_list("status", flat=True)) == {SpotStatus.MAINTENANCE}
    assert cache_versions.versions([facility_id])[facility_id] == version + 1

    assert spot_set_maintenance(spots=spots, in_maintenance=False) == 2
    assert set(spots.values_list("status", flat=True)) == {SpotStatus.AVAILABLE}


def test_admin_puts_selected_spots_into_maintenance(world, admin_a, as_user):
    client = as_user(admin_a)
    spot = world.a.spot

    response = client.post(
        reverse("admin:facilities_spot_changelist"),
        {"action": "put_into_maintenance", "_selected_action": [spot.pk]},
        follow=True,
    )
    spot.refresh_from_db()
    assert spot.status == SpotStatus.MAINTENANCE
    assert "Put into maintenance: 1 spot(s)." in response.content.decode()
    assert LogEntry.objects.filter(object_id=str(spot.pk), change_message="Put into maintenance")

    client.post(
        reverse("admin:facilities_spot_changelist"),
        {"action": "return_to_service", "_selected_action": [spot.pk]},
    )
    spot.refresh_from_db()
    assert spot.status == SpotStatus.AVAILABLE
