"""Routing with the test settings' replica, which mirrors the primary (no second server)."""

from __future__ import annotations

import pytest
from django.db import connections, router, transaction
from django.test import Client, override_settings

from parkme import replicas
from parkme.db_router import replica_reads
from parkme.middleware_db import PIN_COOKIE
from parkme.models import Operator

pytestmark = [
    pytest.mark.urls("tests.ops.urls"),
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]


@pytest.fixture(autouse=True)
def _fresh_health():
    replicas.replica_forget_all()
    yield
    replicas.replica_forget_all()


@pytest.fixture
def dead_replica():
    """The replica alias pointed at a port where nothing listens."""
    replica = connections["replica"]
    replica.close()
    replica.close_pool()
    original = replica.settings_dict
    replica.settings_dict = {
        **original,
        "HOST": "127.0.0.1",
        "PORT": "1",
        "OPTIONS": {"connect_timeout": 1},
    }
    yield
    replica.close()
    replica.settings_dict = original


def test_a_request_reads_from_the_replica():
    Operator.objects.create(name="Seed", slug="seed")
    body = Client().get("/ops-probe/read/").json()
    assert body == {"names": ["Seed"], "served_by_replica": False, "db": "replica"}


def test_a_write_pins_the_rest_of_the_request_and_the_client_to_the_primary():
    writer = Client()
    in_request = writer.get("/ops-probe/write-then-read/", {"name": "Fresh"})
    assert in_request.json()["db"] == "default"
    assert in_request.cookies[PIN_COOKIE]["max-age"] == 10
    assert writer.get("/ops-probe/read/").json()["db"] == "default"
    assert Client().get("/ops-probe/read/").json()["db"] == "replica"


def test_requests_that_change_state_read_the_primary_throughout():
    response = Client().post("/ops-probe/write/", {"name": "Posted"})
    assert response.status_code == 201
    assert PIN_COOKIE in response.cookies


def test_reads_inside_a_transaction_or_outside_a_request_use_the_primary():
    assert Operator.objects.all().db == "default"  # commands, tasks, the shell
    with replica_reads():
        assert Operator.objects.all().db == "replica"
        with transaction.atomic():
            assert Operator.objects.all().db == "default"


def test_migrations_run_only_on_the_primary():
    assert router.allow_migrate("default", "parkme", model_name="operator") is True
    assert router.allow_migrate("replica", "parkme", model_name="operator") is False


def test_with_no_healthy_replica_reads_fall_back_to_the_primary_without_error(dead_replica):
    Operator.objects.create(name="Seed", slug="seed")
    responses = [Client().get("/ops-probe/read/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert {r.json()["db"] for r in responses} == {"default"}
    assert responses[0].json()["names"] == ["Seed"]
    ready = Client().get("/health/ready/")
    assert ready.status_code == 200  # a replica down degrades capacity, not readiness
    assert ready.json()["checks"]["replicas"]["ok"] is False


def test_readiness_reports_each_replica_with_its_lag_and_the_broker():
    body = Client().get("/health/ready/").json()
    assert body["checks"]["replicas"]["replicas"] == {
        "replica": {"ok": True, "lag_seconds": 0.0, "in_recovery": False}
    }
    assert body["checks"]["broker"]["ok"] is True


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_readiness_reports_a_broker_it_cannot_reach():
    body = Client().get("/health/ready/").json()
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["critical"] is False
