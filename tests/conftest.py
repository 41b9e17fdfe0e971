from __future__ import annotations

import pytest
from django.core.cache import cache

from tests import factories


@pytest.fixture(autouse=True)
def _clean_cache():
    """Each test starts with an empty cache (only this run's key prefix)."""
    cache.delete_pattern("*")
    return


@pytest.fixture
def operator_a(db):
    return factories.OperatorFactory(name="Operator A", slug="operator-a")


@pytest.fixture
def operator_b(db):
    return factories.OperatorFactory(name="Operator B", slug="operator-b")


@pytest.fixture
def facility_a(operator_a):
    facility = factories.FacilityFactory(operator=operator_a, name="A Garage", slug="a-garage")
    factories.RateVersionFactory(facility=facility)
    return facility


@pytest.fixture
def facility_b(operator_b):
    facility = factories.FacilityFactory(
        operator=operator_b, name="B Garage", slug="b-garage", latitude=60.18, longitude=24.95
    )
    factories.RateVersionFactory(facility=facility)
    return facility


@pytest.fixture
def alice(db):
    """A driver."""
    return factories.UserFactory(email="alice@example.test")


@pytest.fixture
def bob(db):
    """Another driver: the outsider in ownership tests."""
    return factories.UserFactory(email="bob@example.test")
