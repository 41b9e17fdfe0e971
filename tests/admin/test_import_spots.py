"""manage.py import_spots: row-by-row validation with clear errors, all or nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from facilities.models import Spot


def run(tmp_path, text: str, operator: str = "operator-a") -> tuple[str, str]:
    path = tmp_path / "spots.csv"
    path.write_text(text, encoding="utf-8")
    out, err = StringIO(), StringIO()
    call_command("import_spots", str(path), operator=operator, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_imports_every_row(world, tmp_path):
    rows = "".join(f"a-garage,Zone-A,IMP{n:03d},standard\n" for n in range(1, 251))

    out, _ = run(
        tmp_path,
        "facility,zone,code,kind,status\n"
        + rows.replace("IMP250,standard", "IMP250,ev,maintenance"),
    )

    assert "Imported 250 spots into 1 facility of Operator A." in out
    assert Spot.objects.filter(facility=world.a.facility, code__startswith="IMP").count() == 250
    last = Spot.objects.get(code="IMP250")
    assert (last.kind, last.status, last.zone) == ("ev", "maintenance", world.a.zone)


def test_one_bad_row_imports_nothing_and_every_problem_is_named(world, tmp_path):
    before = Spot.objects.count()
    text = (
        "facility,zone,code,kind\n"
        "a-garage,Zone-A,OK1,standard\n"  # line 2: fine
        "nowhere,Zone-A,X1,standard\n"  # line 3
        "a-garage,P9,X2,standard\n"  # line 4
        "a-garage,Zone-A,X3,spaceship\n"  # line 5
        "a-garage,Zone-A,OK1,standard\n"  # line 6: repeats line 2
        "a-garage,Zone-A,SPOT-A1,standard\n"  # line 7: exists already
        "a-garage,Zone-A,,standard\n"  # line 8
    )

    with pytest.raises(CommandError, match=r"6 row\(s\) are not valid; nothing was imported"):
        run(tmp_path, text)

    assert Spot.objects.count() == before


def test_errors_list_line_numbers(world, tmp_path, capsys):
    path = tmp_path / "spots.csv"
    path.write_text("facility,zone,code,kind\na-garage,Zone-A,OK1,standard\nnowhere,Z,X,car\n")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_spots", str(path), operator="operator-a", stderr=err)

    assert err.getvalue().splitlines() == [
        f"{path}: line 3: no facility 'nowhere' in Operator A; kind 'car' is not one of "
        "standard, compact, ev, accessible, motorcycle"
    ]


def test_another_operators_facility_is_unknown_to_the_import(world, tmp_path):
    with pytest.raises(CommandError):
        run(tmp_path, "facility,zone,code,kind\nb-garage,Zone-B,SNEAK1,standard\n")

    assert not Spot.objects.filter(code="SNEAK1").exists()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("facility,zone,code\na-garage,Zone-A,X1\n", "missing kind"),
        ("facility,zone,code,kind,colour\n", "unknown colour"),
        ("facility,zone,code,kind\n", "no spot rows"),
    ],
)
def test_a_bad_file_is_explained(world, tmp_path, text, why):
    with pytest.raises(CommandError, match=why):
        run(tmp_path, text)


def test_unknown_operator_is_refused(world, tmp_path):
    with pytest.raises(CommandError, match="No operator with slug 'nope'"):
        run(tmp_path, "facility,zone,code,kind\n", operator="nope")
