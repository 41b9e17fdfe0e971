import pytest

from tests.factories import VehicleFactory
from vehicles.models import Vehicle

pytestmark = pytest.mark.django_db


def test_driver_adds_lists_updates_and_removes_a_vehicle(as_user, alice):
    client = as_user(alice)
    r = client.post(
        "/api/v1/vehicles/", {"plate": "abc-123", "kind": "car", "is_ev": True}, format="json"
    )
    assert r.status_code == 201, r.content
    vehicle = r.json()
    assert vehicle["plate"] == "abc-123"
    assert vehicle["plate_normalized"] == "ABC123"

    listing = client.get("/api/v1/vehicles/").json()
    assert [v["id"] for v in listing["results"]] == [vehicle["id"]]

    r = client.patch(f"/api/v1/vehicles/{vehicle['id']}/", {"plate": "xyz 9"}, format="json")
    assert r.status_code == 200
    assert r.json()["plate_normalized"] == "XYZ9"

    assert client.delete(f"/api/v1/vehicles/{vehicle['id']}/").status_code == 204
    assert client.get(f"/api/v1/vehicles/{vehicle['id']}/").status_code == 404
    assert client.get("/api/v1/vehicles/").json()["count"] == 0
    assert Vehicle.objects.get(pk=vehicle["id"]).is_active is False  # kept for bookings


def test_a_second_active_vehicle_with_the_same_plate_is_a_clear_400(as_user, alice):
    VehicleFactory(owner=alice, plate="ABC-123")
    r = as_user(alice).post("/api/v1/vehicles/", {"plate": "abc 123"}, format="json")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "duplicate_plate"
    assert "plate" in r.json()["error"]["fields"]
    assert Vehicle.objects.filter(owner=alice).count() == 1


def test_the_same_plate_is_fine_for_another_driver_or_after_removal(as_user, alice, bob):
    VehicleFactory(owner=bob, plate="ABC-123")
    VehicleFactory(owner=alice, plate="ABC-123", is_active=False)
    r = as_user(alice).post("/api/v1/vehicles/", {"plate": "ABC123"}, format="json")
    assert r.status_code == 201


def test_drivers_never_see_or_touch_each_others_vehicles(as_user, alice, bob):
    bobs = VehicleFactory(owner=bob, plate="BOB-1")
    client = as_user(alice)
    assert client.get(f"/api/v1/vehicles/{bobs.id}/").status_code == 404
    assert (
        client.patch(f"/api/v1/vehicles/{bobs.id}/", {"plate": "X1"}, format="json").status_code
        == 404
    )
    assert client.delete(f"/api/v1/vehicles/{bobs.id}/").status_code == 404
    assert client.get("/api/v1/vehicles/").json()["count"] == 0
    bobs.refresh_from_db()
    assert bobs.plate == "BOB-1"
    assert bobs.is_active


@pytest.mark.parametrize("plate", ["", "   ", "AB.12", "A" * 16, "ÄÖ_1"])
def test_malformed_plates_are_refused(as_user, alice, plate):
    r = as_user(alice).post("/api/v1/vehicles/", {"plate": plate}, format="json")
    assert r.status_code == 400
    assert "plate" in r.json()["error"]["fields"]
    assert not Vehicle.objects.filter(owner=alice).exists()


def test_vehicle_list_query_count_does_not_grow_with_page_size(
    as_user, alice, django_assert_max_num_queries
):
    for n in range(30):
        VehicleFactory(owner=alice, plate=f"PLT{n}")
    client = as_user(alice)
    with django_assert_max_num_queries(3):
        r = client.get("/api/v1/vehicles/", {"page_size": 30})
    assert len(r.json()["results"]) == 30
