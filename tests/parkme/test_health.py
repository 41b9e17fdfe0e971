import uuid

import pytest
from django.db import connections

pytestmark = pytest.mark.django_db


def test_liveness_answers_without_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


def test_readiness_reports_each_check_with_timing(client):
    response = client.get("/health/ready/")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["cache"]["ok"] is True
    assert isinstance(checks["database"]["ms"], float)


def test_readiness_is_503_with_detail_when_the_database_is_unreachable(client):
    broken = {**connections["default"].settings_dict}
    broken.update(HOST="127.0.0.1", PORT="1", NAME="nowhere")
    broken["OPTIONS"] = {"connect_timeout": 1}
    connections["default"].close()
    original = connections["default"].settings_dict
    connections["default"].settings_dict = broken
    try:
        response = client.get("/health/ready/")
    finally:
        connections["default"].close()
        connections["default"].settings_dict = original
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"]["ok"] is False
    assert "error" in body["checks"]["database"]
    assert body["checks"]["cache"]["ok"] is True


def test_every_response_carries_a_request_id(client):
    generated = client.get("/health/")["X-Request-ID"]
    assert len(generated) == 32
    uuid.UUID(generated)
    given = client.get("/health/", HTTP_X_REQUEST_ID="gate-42.abc")
    assert given["X-Request-ID"] == "gate-42.abc"


def test_unsafe_request_ids_are_replaced(client):
    response = client.get("/health/", HTTP_X_REQUEST_ID="bad id\nInjected: yes")
    assert response["X-Request-ID"] != "bad id\nInjected: yes"
    assert "\n" not in response["X-Request-ID"]
