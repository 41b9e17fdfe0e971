from __future__ import annotations

import io
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import boto3
import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from moto import mock_aws

from bookings.states import BookingStatus
from parkme.models import Membership, Operator, Role
from tests import factories

pytestmark = pytest.mark.django_db
HELSINKI = ZoneInfo("Europe/Helsinki")
PASSWORD = "a-long-and-unusual-passphrase"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_create_operator_takes_the_password_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("PARKME_ADMIN_PASSWORD", PASSWORD)
    call_command(
        "create_operator", name="Harbor Garages", admin_email="Boss@Harbor.test", no_input=True
    )
    operator = Operator.objects.get(name="Harbor Garages")
    admin = authenticate(email="boss@harbor.test", password=PASSWORD)
    assert admin is not None
    assert admin.is_staff
    assert Membership.objects.get(user=admin, operator=operator).role == Role.ADMIN
    assert "harbor-garages" in capsys.readouterr().out


def test_create_operator_prompts_on_a_terminal(monkeypatch):
    monkeypatch.delenv("PARKME_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": PASSWORD)
    call_command("create_operator", name="Prompted", admin_email="p@example.test")
    assert authenticate(email="p@example.test", password=PASSWORD) is not None


def test_create_operator_never_accepts_the_password_as_an_argument(monkeypatch):
    monkeypatch.delenv("PARKME_ADMIN_PASSWORD", raising=False)
    with pytest.raises(TypeError):
        call_command("create_operator", name="X", admin_email="x@example.test", password="pw")
    with pytest.raises(CommandError, match="PARKME_ADMIN_PASSWORD"):
        call_command("create_operator", name="X", admin_email="x@example.test", no_input=True)
    monkeypatch.setenv("PARKME_ADMIN_PASSWORD", "12345")
    with pytest.raises(CommandError, match="too short|too common|numeric"):
        call_command("create_operator", name="X", admin_email="x@example.test", no_input=True)
    assert not Operator.objects.filter(name="X").exists()


@pytest.fixture
def dst_facility(facility_a):
    """Two spots in Helsinki; 2025-03-30 is the 23-hour day clocks go forward."""
    zone = factories.ZoneFactory(facility=facility_a)
    spots = factories.SpotFactory.create_batch(2, zone=zone)

    def book(start: datetime, end: datetime, status=BookingStatus.COMPLETED, spot=spots[0]):
        factories.BookingFactory(
            spot=spot,
            starts_at=start.replace(tzinfo=HELSINKI),
            ends_at=end.replace(tzinfo=HELSINKI),
            status=status,
        )

    book(datetime(2025, 3, 29, 22), datetime(2025, 3, 30, 2))  # across local midnight
    book(datetime(2025, 3, 30, 10), datetime(2025, 3, 30, 12), spot=spots[1])
    book(datetime(2025, 3, 30, 13), datetime(2025, 3, 30, 18), BookingStatus.CANCELLED)
    return facility_a


def test_occupancy_report_counts_facility_local_days_including_dst(dst_facility, capsys):
    call_command(
        "occupancy_report",
        operator="operator-a",
        facility="a-garage",
        date_from="2025-03-29",
        date_to="2025-03-30",
    )
    assert capsys.readouterr().out.splitlines() == [
        "date,operator,facility,spots,bookings,booked_hours,capacity_hours,occupancy_percent",
        "2025-03-29,operator-a,a-garage,2,1,2.00,48.00,4.2",
        "2025-03-30,operator-a,a-garage,2,2,4.00,46.00,8.7",
    ]


def test_occupancy_report_writes_to_a_file_or_s3(dst_facility, tmp_path, monkeypatch):
    args = {"operator": "operator-a", "facility": "a-garage", "date_from": "2025-03-30"}
    call_command("occupancy_report", **args, date_to="2025-03-30", output=str(tmp_path / "r.csv"))
    assert (tmp_path / "r.csv").read_text().splitlines()[1].startswith("2025-03-30,")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-north-1")
        s3.create_bucket(
            Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        call_command("occupancy_report", **args, date_to="2025-03-30", output="s3://reports/m.csv")
        body = s3.get_object(Bucket="reports", Key="m.csv")["Body"].read().decode()
    assert body.splitlines()[1] == "2025-03-30,operator-a,a-garage,2,2,4.00,46.00,8.7"


def test_occupancy_report_names_what_is_wrong(facility_a):
    base = {"operator": "operator-a", "date_from": "2025-03-01", "date_to": "2025-03-02"}
    with pytest.raises(CommandError, match="no facility 'nope'"):
        call_command("occupancy_report", facility="nope", **base)
    with pytest.raises(CommandError, match="before"):
        call_command("occupancy_report", facility="a-garage", **{**base, "date_to": "2025-02-01"})
    with pytest.raises(CommandError, match="not a date"):
        call_command("occupancy_report", facility="a-garage", **{**base, "date_to": "soon"})


@pytest.mark.django_db(databases=["default", "replica"])
def test_check_replicas_prints_each_replica_with_its_lag(capsys):
    call_command("check_replicas")
    assert capsys.readouterr().out.split() == ["replica", "ok", "lag", "0.000s"]
