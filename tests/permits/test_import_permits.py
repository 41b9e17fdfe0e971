"""manage.py import_permits: every row checked and reported by line, all or nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from bookings.models import Notification, Permit, PermitEvent
from tests import factories

pytestmark = pytest.mark.django_db

HEADER = "product,plates,valid_from,holder_email,company_name,contact_email,auto_renew\n"


@pytest.fixture
def commuter(facility_a):
    """Two permits at most (two spaces allocated, no overselling)."""
    return factories.permit_product(facility_a, name="Commuter", allocated_spaces=2)


@pytest.fixture
def today(facility_a) -> str:
    return timezone.now().astimezone(facility_a.tz).date().isoformat()


def run(tmp_path, text: str, operator: str = "operator-a", **options) -> tuple[str, str]:
    path = tmp_path / "permits.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_permits", str(path), operator=operator, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def failing(tmp_path, text: str, **options) -> tuple[str, list[str]]:
    """The command's error and its stderr lines (the file's path taken off)."""
    path = tmp_path / "permits.csv"
    path.write_text(text, encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_permits", str(path), operator="operator-a", stderr=err, **options)
    return str(raised.value), [
        line.removeprefix(f"{path}: ") for line in err.getvalue().splitlines()
    ]


def test_a_good_file_issues_every_permit(tmp_path, commuter, alice, today):
    text = HEADER + (
        f"Commuter,ABC-123,{today},Alice@Example.test,,,\n"
        f"{commuter.pk},FLT-1;FLT-2 FLT-3,{today},,Kuljetus Oy,fleet@kuljetus.test,false\n"
    )

    out, err = run(tmp_path, text)

    assert err == ""
    assert "Issued 2 permit(s) for Operator A" in out
    driver = Permit.objects.get(holder=alice)
    fleet = Permit.objects.get(company_name="Kuljetus Oy")
    assert (driver.product, driver.plates, driver.auto_renew) == (commuter, ["ABC-123"], True)
    assert (fleet.holder, fleet.contact_email, fleet.plates, fleet.auto_renew) == (
        None,
        "fleet@kuljetus.test",
        ["FLT-1", "FLT-2", "FLT-3"],
        False,
    )
    assert driver.reference in out
    assert fleet.reference in out
    assert set(PermitEvent.objects.values_list("action", "actor_kind")) == {("create", "staff")}


def test_bad_lines_are_reported_by_number_and_nothing_is_created(tmp_path, commuter, alice, today):
    text = HEADER + (
        f"Commuter,OK-1,{today},alice@example.test,,,\n"  # line 2: would be fine
        f"Nope,OK-2,{today},,Fleet,fleet@x.test,\n"  # line 3
        f"Commuter,A-1 B-2 C-3 D-4,{today},,Fleet,fleet@x.test,\n"  # line 4
        "Commuter,OK-3,31.12.2031,,Fleet,fleet@x.test,\n"  # line 5
        f"Commuter,OK-4,{today},ghost@example.test,,,\n"  # line 6
        f"Commuter,OK-5,{today},,Fleet,,maybe\n"  # line 7
        f"Commuter,,{today},,Fleet,not-an-email,\n"  # line 8
    )

    message, lines = failing(tmp_path, text)

    assert message == "6 row(s) are not valid; nothing was imported."
    assert lines == [
        "line 3: no permit product 'Nope' in Operator A",
        "line 4: plates: Give 1 to 3 plates, not 4.",
        "line 5: valid_from '31.12.2031' is not a date (YYYY-MM-DD)",
        "line 6: no driver account with e-mail 'ghost@example.test'",
        "line 7: give holder_email, or company_name and contact_email; "
        "auto_renew 'maybe' is not true or false",
        "line 8: plates: Give 1 to 3 plates, not 0.; "
        "contact_email 'not-an-email' is not an e-mail address",
    ]
    assert Permit.objects.count() == 0


def test_a_sold_out_row_rolls_back_the_whole_import(tmp_path, commuter, today):
    text = HEADER + "".join(
        f"Commuter,CAR-{n},{today},,Fleet {n},fleet{n}@x.test,\n" for n in range(1, 5)
    )

    message, lines = failing(tmp_path, text)

    assert message == "2 row(s) were refused; nothing was imported."
    assert lines == [
        "line 4: This permit product is sold out for that period.",
        "line 5: This permit product is sold out for that period.",
    ]
    assert Permit.objects.count() == 0
    assert PermitEvent.objects.count() == 0
    assert Notification.objects.count() == 0


def test_a_plate_twice_in_the_file_is_refused_with_its_line(tmp_path, commuter, alice, today):
    text = HEADER + (
        f"Commuter,SAME-1,{today},alice@example.test,,,\n"
        f"Commuter,same-1,{today},,Fleet,fleet@x.test,\n"
    )

    _, lines = failing(tmp_path, text)

    assert lines == [
        "line 3: A plate already has a permit of this product for that period. "
        "(plates: SAME1 already has one.)"
    ]
    assert Permit.objects.count() == 0


def test_another_operators_product_is_refused(tmp_path, commuter, facility_b, today):
    theirs = factories.permit_product(facility_b, name="Their pass", allocated_spaces=5)
    text = HEADER + (
        f"{theirs.pk},SNEAK-1,{today},,Fleet,fleet@x.test,\n"
        f"Their pass,SNEAK-2,{today},,Fleet,fleet@x.test,\n"
    )

    _, lines = failing(tmp_path, text)

    assert lines == [
        f"line 2: no permit product '{theirs.pk}' in Operator A",
        "line 3: no permit product 'Their pass' in Operator A",
    ]
    assert not theirs.permits.exists()


def test_a_name_sold_at_two_facilities_needs_the_id(tmp_path, commuter, operator_a, today):
    other = factories.FacilityFactory(operator=operator_a, slug="a-annex")
    factories.permit_product(other, name="Commuter", allocated_spaces=2)

    _, lines = failing(tmp_path, HEADER + f"commuter,X-1,{today},,Fleet,f@x.test,\n")

    assert lines == [
        "line 2: product 'commuter' is sold at several facilities (a-annex, a-garage): give its id"
    ]


def test_a_dry_run_checks_everything_and_saves_nothing(tmp_path, commuter, today):
    good = HEADER + f"Commuter,DRY-1,{today},,Fleet,fleet@x.test,\n"

    out, _ = run(tmp_path, good, dry_run=True)

    assert "Dry run: 1 permit(s) for Operator A would be issued; nothing was saved." in out
    assert Permit.objects.count() == 0
    sold_out = HEADER + "".join(
        f"Commuter,DRY-{n},{today},,Fleet,fleet@x.test,\n" for n in range(3)
    )
    message, lines = failing(tmp_path, sold_out, dry_run=True)
    assert lines == ["line 4: This permit product is sold out for that period."]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("product,plates\nCommuter,X-1\n", "missing valid_from"),
        ("product,plates,valid_from,colour\n", "unknown colour"),
        ("product,plates,valid_from\n", "no permit rows"),
    ],
)
def test_a_bad_file_is_explained(tmp_path, commuter, text, why):
    with pytest.raises(CommandError, match=why):
        run(tmp_path, text)


def test_unknown_operator_is_refused(tmp_path, commuter):
    with pytest.raises(CommandError, match="No operator with slug 'nope'"):
        run(tmp_path, HEADER, operator="nope")
