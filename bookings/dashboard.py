"""Occupancy dashboard of one facility for its staff, in the facility's time zone.

Occupancy comes from bookings.occupancy (the definition every page shares), never from
spots, and not from the hourly roll-up table: it shows what is booked right now. Next to
it, each permit product's holders inside now (bookings.permits.permits_inside, the gate's
own presence rule) against the spaces it allocates: a fixed three queries however many
products and holders there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.db.models import Count, Q

from bookings.models import Booking
from bookings.occupancy import capacity_by_facility, occupancy_by_facility, occupied_now
from bookings.permit_hours import hours_of, hours_text, in_hours
from bookings.permits import permits_inside
from bookings.states import OCCUPYING, PERMIT_HELD_STATUSES
from facilities.models import Facility, SpotStatus

HOURS_AHEAD = 24

# Chart geometry (SVG user units).
CHART_WIDTH = 720
CHART_HEIGHT = 220
CHART_TOP = 16
CHART_LEFT = 36
CHART_BOTTOM = 28


@dataclass(frozen=True)
class ZoneOccupancy:
    name: str
    level: int
    spots: int
    in_maintenance: int
    occupied: int

    @property
    def capacity(self) -> int:
        return self.spots - self.in_maintenance

    @property
    def free(self) -> int:
        return max(self.capacity - self.occupied, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.occupied / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class HourBar:
    starts_at: datetime  # local
    booked: int
    x: float
    y: float
    width: float
    height: float
    level: str  # ok | busy | full
    label: str


def zone_occupancy(*, facility: Facility, now: datetime) -> list[ZoneOccupancy]:
    zones = facility.zones.annotate(
        spot_count=Count("spots", filter=Q(spots__is_active=True)),
        maintenance_count=Count(
            "spots", filter=Q(spots__is_active=True, spots__status=SpotStatus.MAINTENANCE)
        ),
    ).order_by("level", "name")
    occupied = {
        key.zone_id: spots
        for key, spots in occupied_now(facility_ids=[facility.pk], at=now).items()
    }
    return [
        ZoneOccupancy(
            name=z.name,
            level=z.level,
            spots=z.spot_count,
            in_maintenance=z.maintenance_count,
            occupied=occupied.get(z.id, 0),
        )
        for z in zones
    ]


@dataclass(frozen=True)
class PermitProductNow:
    """One permit product of the facility, now."""

    product_id: int
    name: str
    kind: str
    hours: str
    in_force: bool  # its hours are in force now (its spaces are withheld from bookings)
    on_sale: bool
    allocated: int
    sales_cap: int
    running: int  # permits that count against the cap now
    inside: int  # holders inside now

    @property
    def percent(self) -> int:
        if not self.allocated:
            return 100 if self.inside else 0
        return round(100 * self.inside / self.allocated)


def permit_products_now(*, facility: Facility, now: datetime) -> list[PermitProductNow]:
    """Every product of the facility (on sale or not: its holders still park) with its
    holders inside now against its allocation. Three queries: products with their running
    permits, their hours, and presence."""
    held_now = Q(
        permits__status__in=[str(s) for s in PERMIT_HELD_STATUSES],
        permits__valid_from__lte=now,
        permits__valid_to__gt=now,
    )
    products = list(
        facility.permit_products.annotate(running=Count("permits", filter=held_now))
        .prefetch_related("hours")
        .order_by("name", "id")
    )
    if not products:
        return []
    inside: dict[int, int] = {}
    for row in permits_inside(facility_id=facility.pk, now=now):
        inside[row.product_id] = inside.get(row.product_id, 0) + 1
    tz = facility.tz
    result = []
    for product in products:
        hours = hours_of(product.hours.all())
        result.append(
            PermitProductNow(
                product_id=product.pk,
                name=product.name,
                kind=product.get_spot_kind_display(),
                hours=hours_text(hours),
                in_force=in_hours(hours, tz, now),
                on_sale=product.on_sale,
                allocated=product.allocated_spaces,
                sales_cap=product.sales_cap,
                running=product.running,  # type: ignore[attr-defined]  # annotated above
                inside=inside.get(product.pk, 0),
            )
        )
    return result


def hourly_forecast(*, facility: Facility, now: datetime) -> tuple[list[datetime], list[int]]:
    """Booked spots for each of the next 24 hours, from the current local hour."""
    tz = facility.tz
    local_hour = now.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    # Step in absolute (UTC) hours: aware arithmetic in a local zone is wall-clock
    # arithmetic, which would skip or repeat an hour on daylight-saving days.
    start = local_hour.astimezone(UTC)
    utc_hours = [start + timedelta(hours=i) for i in range(HOURS_AHEAD)]
    usage = occupancy_by_facility(
        facility_ids=[facility.pk],
        intervals=[(hour, hour + timedelta(hours=1)) for hour in utc_hours],
    )
    booked = [
        usage[(facility.pk, i)].spots if (facility.pk, i) in usage else 0
        for i in range(len(utc_hours))
    ]
    return [hour.astimezone(tz) for hour in utc_hours], booked


def chart(*, hours: list[datetime], booked: list[int], capacity: int) -> dict:
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    top = max([capacity, *booked, 1])
    slot = plot_w / len(hours)

    def y_of(value: int) -> float:
        return round(CHART_TOP + plot_h - plot_h * value / top, 1)

    bars = []
    for i, (hour, n) in enumerate(zip(hours, booked, strict=True)):
        ratio = n / capacity if capacity else 1
        level = "full" if ratio >= 1 else "busy" if ratio >= 0.85 else "ok"
        bars.append(
            HourBar(
                starts_at=hour,
                booked=n,
                x=round(CHART_LEFT + i * slot + 2, 1),
                y=y_of(n),
                width=round(slot - 4, 1),
                height=round(CHART_TOP + plot_h - y_of(n), 1),
                level=level,
                label=hour.strftime("%H") if i % 3 == 0 else "",
            )
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_LEFT + plot_w,
        "baseline": CHART_TOP + plot_h,
        "label_y": CHART_TOP + plot_h + 16,
        "capacity": capacity,
        "capacity_y": y_of(capacity),
        "top": top,
        "top_y": y_of(top),
        "bars": bars,
    }


def gate_day(*, facility: Facility, now: datetime) -> dict:
    """Today's arrivals and departures (local calendar day)."""
    tz = facility.tz
    today = now.astimezone(tz).date()
    day_start = datetime.combine(today, time.min, tzinfo=tz)
    day_end = datetime.combine(today + timedelta(days=1), time.min, tzinfo=tz)
    # The bookings an attendant still expects at the gate, or saw pass through it today.
    base = Booking.objects.filter(OCCUPYING, facility=facility).select_related("spot")
    arrivals = base.filter(starts_at__gte=day_start, starts_at__lt=day_end).order_by("starts_at")
    departures = base.filter(ends_at__gte=day_start, ends_at__lt=day_end).order_by("ends_at")
    return {"day": today, "arrivals": list(arrivals), "departures": list(departures)}


def dashboard_context(*, facility: Facility, now: datetime) -> dict:
    zones = zone_occupancy(facility=facility, now=now)
    capacity = capacity_by_facility(facility_ids=[facility.pk])[facility.pk]
    hours, booked = hourly_forecast(facility=facility, now=now)
    local_now = now.astimezone(facility.tz)
    permits = permit_products_now(facility=facility, now=now)
    return {
        "facility": facility,
        "local_now": local_now,
        "tz_label": f"{facility.timezone} (UTC{local_now.strftime('%z')[:3]}:"
        f"{local_now.strftime('%z')[3:]})",
        "zones": zones,
        "totals": ZoneOccupancy(
            name="All zones",
            level=0,
            spots=sum(z.spots for z in zones),
            in_maintenance=sum(z.in_maintenance for z in zones),
            occupied=sum(z.occupied for z in zones),
        ),
        "chart": chart(hours=hours, booked=booked, capacity=capacity),
        "peak": max(booked) if booked else 0,
        "permit_products": permits,
        "permits_inside": sum(p.inside for p in permits),
        # Spaces withheld from bookings right now: the products whose hours are in force.
        "permits_allocated_now": sum(p.allocated for p in permits if p.in_force),
        **gate_day(facility=facility, now=now),
    }
