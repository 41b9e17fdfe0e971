"""Writes for facilities: spots in bulk.

Bulk inserts and updates send no model signals, so each function here bumps the
availability cache of the facilities it touched itself, on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from facilities.boards import bands_problems, board_of, rate_version_compile
from facilities.models import Facility, RateBand, RateVersion, Spot, SpotKind, SpotStatus, Zone
from facilities.rating import BoardGap, Price, price_window
from parkme.cache_versions import bump_on_commit
from parkme.db import constraint_errors
from parkme.errors import ValidationFailed
from parkme.models import Operator

MAX_SPOTS_PER_RUN = 2000
CODE_MAX_LENGTH: int = Spot._meta.get_field("code").max_length or 32
IMPORT_COLUMNS = ("facility", "zone", "code", "kind")
IMPORT_OPTIONAL_COLUMNS = ("status",)
# Enough to fix a file in one go without flooding the terminal.
MAX_REPORTED_ERRORS = 50


def spot_codes(*, prefix: str, first: int, last: int, width: int = 0) -> list[str]:
    """`prefix` + each number of first..last, zero-padded to `width` digits."""
    return [f"{prefix}{n:0{width}d}" for n in range(first, last + 1)]


@transaction.atomic
def spot_bulk_create(
    *,
    zone: Zone,
    prefix: str,
    first: int,
    last: int,
    kind: str,
    width: int = 0,
) -> list[Spot]:
    """Create the run of spots prefix+first .. prefix+last in `zone`, in one insert."""
    errors: dict[str, list[str]] = {}
    if first < 0 or last < first:
        errors["last"] = ["The range must run from a number up to a number not below it."]
    elif last - first + 1 > MAX_SPOTS_PER_RUN:
        errors["last"] = [f"At most {MAX_SPOTS_PER_RUN} spots at once."]
    if kind not in SpotKind.values:
        errors["kind"] = [f"Unknown kind {kind!r}."]
    if not errors:
        codes = spot_codes(prefix=prefix, first=first, last=last, width=width)
        if max(len(c) for c in codes) > CODE_MAX_LENGTH:
            errors["prefix"] = [f"Spot codes are at most {CODE_MAX_LENGTH} characters."]
        else:
            taken = sorted(
                Spot.objects.filter(facility_id=zone.facility_id, code__in=codes).values_list(
                    "code", flat=True
                )
            )
            if taken:
                shown = ", ".join(taken[:10]) + (" …" if len(taken) > 10 else "")
                errors["prefix"] = [f"{len(taken)} of these codes already exist: {shown}"]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)

    spots = Spot.objects.bulk_create(
        [Spot(zone=zone, facility_id=zone.facility_id, code=code, kind=kind) for code in codes]
    )
    bump_on_commit([zone.facility_id])
    return spots


@transaction.atomic
def spot_set_maintenance(*, spots: QuerySet[Spot], in_maintenance: bool) -> int:
    """Put spots into maintenance or back into service; returns how many changed.

    Bookings already on a spot stand; a spot in maintenance just takes no new ones.
    """
    status = SpotStatus.MAINTENANCE if in_maintenance else SpotStatus.AVAILABLE
    changing = spots.exclude(status=status)
    facility_ids = set(changing.values_list("facility_id", flat=True).distinct())
    changed = Spot.objects.filter(pk__in=changing.values("pk")).update(status=status)
    bump_on_commit(facility_ids)
    return changed


@dataclass(frozen=True)
class SpotImportResult:
    created: int
    facilities: int


@transaction.atomic
def spot_import(
    *, operator: Operator, rows: Iterable[tuple[int, Mapping[str, str]]]
) -> SpotImportResult:
    """Import spots from (line number, row) pairs: every row is checked first, and one bad
    row rejects the whole file (ValidationFailed with fields={"rows": [messages]})."""
    rows = list(rows)
    if not rows:
        raise ValidationFailed("The file has no spot rows.", fields={"rows": ["no rows"]})
    facilities = {f.slug: f for f in Facility.objects.filter(operator=operator)}
    zones = {(z.facility_id, z.name): z for z in Zone.objects.filter(facility__operator=operator)}
    existing = set(
        Spot.objects.filter(facility__operator=operator).values_list("facility_id", "code")
    )
    errors: list[str] = []
    seen: dict[tuple[int, str], int] = {}
    new_spots: list[Spot] = []
    for line, row in rows:
        problems = []
        slug = (row.get("facility") or "").strip()
        zone_name = (row.get("zone") or "").strip()
        code = (row.get("code") or "").strip()
        kind = (row.get("kind") or "").strip().lower()
        status = (row.get("status") or "").strip().lower() or SpotStatus.AVAILABLE
        facility = facilities.get(slug)
        zone = None
        if facility is None:
            problems.append(f"no facility {slug!r} in {operator.name}")
        else:
            zone = zones.get((facility.id, zone_name))
            if zone is None:
                problems.append(f"no zone {zone_name!r} in facility {slug!r}")
        if not code:
            problems.append("code is empty")
        elif len(code) > CODE_MAX_LENGTH:
            problems.append(f"code {code!r} is longer than {CODE_MAX_LENGTH} characters")
        elif facility is not None:
            if (facility.id, code) in existing:
                problems.append(f"spot {code!r} already exists in {slug!r}")
            elif (facility.id, code) in seen:
                problems.append(f"spot {code!r} repeats line {seen[(facility.id, code)]}")
            else:
                seen[(facility.id, code)] = line
        if kind not in SpotKind.values:
            problems.append(f"kind {kind!r} is not one of {', '.join(SpotKind.values)}")
        if status not in SpotStatus.values:
            problems.append(f"status {status!r} is not one of {', '.join(SpotStatus.values)}")
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
        elif zone is not None:
            new_spots.append(
                Spot(zone=zone, facility=facility, code=code, kind=kind, status=status)
            )
    if errors:
        shown = errors[:MAX_REPORTED_ERRORS]
        if len(errors) > len(shown):
            shown.append(f"… and {len(errors) - len(shown)} more")
        raise ValidationFailed(
            f"{len(errors)} row(s) are not valid; nothing was imported.", fields={"rows": shown}
        )
    Spot.objects.bulk_create(new_spots, batch_size=1000)
    touched = {spot.facility_id for spot in new_spots}
    bump_on_commit(touched)
    return SpotImportResult(created=len(new_spots), facilities=len(touched))


# --- rate versions -------------------------------------------------------------------------


def all_week(
    unit_price: Decimal, *, unit_minutes: int = 60, label: str = "All day"
) -> list[dict[str, Any]]:
    """Bands that price every minute of the week at one tariff."""
    return [
        {
            "weekday": weekday,
            "starts": time(0),
            "ends": None,
            "unit_minutes": unit_minutes,
            "unit_price": unit_price,
            "label": label,
        }
        for weekday in range(7)
    ]


def _version_overlaps() -> ValidationFailed:
    return ValidationFailed(
        "This version's period overlaps another version of the facility.",
        fields={"valid_from": ["Overlaps another version of this facility."]},
    )


@transaction.atomic
def rate_version_create(
    *,
    facility: Facility,
    valid_from: datetime,
    bands: Iterable[dict[str, Any]],
    valid_to: datetime | None = None,
    **fields: Any,
) -> RateVersion:
    """A rate version with its weekday bands, compiled. Bands that leave a minute of the
    week unpriced or overlap are refused, naming each problem; a period overlapping another
    version of the facility is refused too (the exclusion constraint decides races)."""
    bands = list(bands)
    if problems := bands_problems([(b["weekday"], b["starts"], b["ends"]) for b in bands]):
        raise ValidationFailed(problems[0], fields={"bands": problems})
    with constraint_errors({"rateversion_no_overlap": _version_overlaps}):
        version = RateVersion.objects.create(
            facility=facility, valid_from=valid_from, valid_to=valid_to, **fields
        )
    RateBand.objects.bulk_create(RateBand(version=version, **band) for band in bands)
    rate_version_compile(version_id=version.pk)
    version.refresh_from_db(fields=["compiled"])
    return version


def rate_version_preview(
    *, version: RateVersion, starts_local: datetime, ends_local: datetime, kind: str | None
) -> Price:
    """The price of a window given in the facility's local wall-clock time, on this board
    (in force or not): what the admin's price preview shows."""
    tz = version.facility.tz
    starts = starts_local.replace(tzinfo=None).replace(tzinfo=tz)
    ends = ends_local.replace(tzinfo=None).replace(tzinfo=tz)
    if ends <= starts:
        raise ValidationFailed("Leave after you enter.", fields={"ends": ["Before the start."]})
    if ends - starts > timedelta(days=31):
        raise ValidationFailed("Preview at most 31 days.", fields={"ends": ["Too long."]})
    try:
        return price_window(board_of(version), starts_at=starts, ends_at=ends, kind=kind)
    except BoardGap as exc:
        raise ValidationFailed(f"The board does not price every minute: {exc}") from exc
