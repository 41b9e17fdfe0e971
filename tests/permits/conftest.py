"""Permits are driven through the API and the gate: share the API tests' fixtures."""

from tests.api.conftest import (  # noqa: F401 - fixtures, found by name
    alice_car,
    api,
    as_user,
    bob_car,
    device_of,
    garage,
)
