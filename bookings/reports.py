"""Occupancy report: per facility and local calendar day, how much of the capacity was booked.

Days run from local midnight to local midnight in the facility's time zone, so a
daylight-saving day has 23 or 25 hours of capacity. What counts as occupied, and the
capacity (bookable spots), are bookings.occupancy's one definition.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TextIO

from bookings.occupancy import capacity_by_facility, occupancy_by_facility
from facilities.models import Facility

COLUMNS = [
    "date",
    "operator",
    "facility",
    "spots",
    "bookings",
    "booked_hours",
    "capacity_hours",
    "occupancy_percent",
]


@dataclass(frozen=True)
class OccupancyRow:
    day: date
    operator: str
    facility: str
    spots: int
    bookings: int
    booked_hours: Decimal
    capacity_hours: Decimal

    @property
    def occupancy_percent(self) -> Decimal:
        if not self.capacity_hours:
            return Decimal("0.0")
        share = self.booked_hours / self.capacity_hours * 100
        return share.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def as_csv(self) -> list[str]:
        return [
            self.day.isoformat(),
            self.operator,
            self.facility,
            str(self.spots),
            str(self.bookings),
            str(self.booked_hours),
            str(self.capacity_hours),
            str(self.occupancy_percent),
        ]


def _hours(delta: timedelta) -> Decimal:
    return (Decimal(delta.total_seconds()) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)


def occupancy_report(*, facility: Facility, date_from: date, date_to: date) -> list[OccupancyRow]:
    """One row per local day from ``date_from`` to ``date_to``, both included."""
    if date_to < date_from:
        raise ValueError("the end date is before the start date")
    tz = facility.tz
    days = [date_from + timedelta(days=n) for n in range((date_to - date_from).days + 1)]
    # In UTC: Python subtracts two datetimes of one zone as wall-clock times, which would
    # give a daylight-saving day 24 hours.
    bounds = [
        (
            datetime.combine(d, time(), tz).astimezone(UTC),
            datetime.combine(d + timedelta(days=1), time(), tz).astimezone(UTC),
        )
        for d in days
    ]
    spots = capacity_by_facility(facility_ids=[facility.pk])[facility.pk]
    usage = occupancy_by_facility(facility_ids=[facility.pk], intervals=bounds)
    rows = []
    for n, (day, (start, end)) in enumerate(zip(days, bounds, strict=True)):
        used = usage.get((facility.pk, n))
        rows.append(
            OccupancyRow(
                day=day,
                operator=facility.operator.slug,
                facility=facility.slug,
                spots=spots,
                bookings=used.bookings if used else 0,
                booked_hours=_hours(timedelta(seconds=used.spot_seconds if used else 0)),
                capacity_hours=_hours((end - start) * spots),
            )
        )
    return rows


def occupancy_report_csv(rows: list[OccupancyRow], out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.as_csv())
