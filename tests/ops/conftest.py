from __future__ import annotations

import pytest
from django.db import DEFAULT_DB_ALIAS, connections


@pytest.fixture(scope="session", autouse=True)
def _close_replica_pools(django_db_setup, django_db_blocker):
    """Close the replica aliases' pools before the test database is dropped: Django closes
    only the primary's, and an open replica connection would keep the database in use."""
    yield
    with django_db_blocker.unblock():
        for alias in connections:
            if alias != DEFAULT_DB_ALIAS:
                connections[alias].close()
                connections[alias].close_pool()
