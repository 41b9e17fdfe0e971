"""The documented demo logins behave as their roles promise in the admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bookings.demo import DEMO_PASSWORD, demo_seed


@pytest.fixture
def demo(db):
    demo_seed()


def admin_client(email: str) -> tuple[Client, int]:
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": email, "password": DEMO_PASSWORD, "next": "/admin/"}
    )
    return client, response.status_code


@pytest.mark.parametrize(
    ("email", "sees", "hidden"),
    [
        ("ops@parkme.demo", ["Kamppi Center", "West Harbor"], []),
        ("admin@central.demo", ["Kamppi Center", "Central Station Garage"], ["West Harbor"]),
        ("attendant@central.demo", ["Kamppi Center"], ["West Harbor", "Katajanokka"]),
        ("admin@harbor.demo", ["West Harbor", "Katajanokka Terminal"], ["Kamppi Center"]),
    ],
)
def test_demo_staff_see_their_operators_facilities(demo, email, sees, hidden):
    client, status = admin_client(email)

    html = client.get(reverse("admin:facilities_facility_changelist")).content.decode()

    assert status == 302
    for name in sees:
        assert name in html
    for name in hidden:
        assert name not in html


@pytest.mark.parametrize("email", ["gate@central.demo", "driver@parkme.demo"])
def test_demo_gate_device_and_driver_cannot_log_in(demo, email):
    _, status = admin_client(email)

    assert status == 200  # the login form again, with its error
