"""Schemathesis drives every operation of /api/schema/ as a logged-in driver, with valid
and invalid generated input: no 5xx, and every response (errors included) matches the
documented schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_MODE = 15


@pytest.fixture
def api_schema():
    # Like Django's test client: keep the test's connection (and its transaction) open
    # across requests instead of closing it at the end of each one.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_survives_generated_input(api_schema, garage):
    driver = UserFactory(email="fuzz@example.test")
    VehicleFactory(owner=driver, plate="FUZZ-1")
    headers = {"Authorization": f"Bearer {RefreshToken.for_user(driver).access_token}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 17
    failures = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Exception as exc:  # noqa: BLE001 - collect every failing operation
                failures[f"{operation.method.upper()} {operation.path} {mode.value}"] = str(exc)[
                    :2000
                ]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
