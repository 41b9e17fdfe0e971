import pytest

from tests.factories import VehicleFactory
from vehicles.plates import is_valid_normalized_plate, normalize_plate


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("abc-123", "ABC123"),
        ("ABC 123", "ABC123"),
        ("  abc - 1 2 3 ", "ABC123"),
        ("ÅÄÖ-1", "ÅÄÖ1"),
        ("xyz\t9", "XYZ9"),
    ],
)
def test_plates_are_normalised_upper_case_without_spaces_or_dashes(typed, normalized):
    assert normalize_plate(typed) == normalized


@pytest.mark.parametrize("value", ["", "ABC.123", "A" * 16, "AB_1"])
def test_invalid_normalised_plates_are_recognised(value):
    assert not is_valid_normalized_plate(value)


@pytest.mark.django_db
def test_saving_a_vehicle_stores_its_normalised_plate():
    vehicle = VehicleFactory(plate="fi-abc 12")
    vehicle.refresh_from_db()
    assert vehicle.plate == "fi-abc 12"
    assert vehicle.plate_normalized == "FIABC12"
