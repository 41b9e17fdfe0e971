"""Permits (monthly passes): the one home of how they are sold, issued, changed, suspended,
cancelled and renewed, and of who is inside on one.

**Periods.** A permit runs for whole calendar months from local midnight of its first day:
``valid_from`` 15 March → ``valid_to`` 15 April 00:00 in the facility's time zone (a start
on the 31st ends on the last day of a shorter month, and later periods keep the original
day where the month has it). Every period costs the product's full ``monthly_price`` (no
pro rata first month), VAT included and shown.

**Sales cap.** At most ``allocated × (1 + oversell/100)`` permits of a product may run at any
moment. A sale locks the product row (``FOR UPDATE``) and counts the permits that overlap
the new period, so racing buyers queue and the cap holds; PostgreSQL decides, not a
Python check on a stale count.

**Presence.** A permit is inside a facility when its latest gate opening there (the last
``PERMIT_PRESENCE_DAYS``) was an entry: one indexed query (``gateevent_permit_presence_idx``).
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from bookings.allocations import allocation_problem, allocations_lock_exclusive
from bookings.models import (
    GateAction,
    GateDirection,
    NotificationKind,
    Permit,
    PermitEvent,
    PermitHours,
    PermitProduct,
)
from bookings.outbox import outbox_add_permit
from bookings.states import (
    PERMIT_HELD,
    PERMIT_HELD_STATUSES,
    PERMIT_VALID_STATUSES,
    ActorKind,
    PermitAction,
    PermitStatus,
    permit_transition_check,
)
from bookings.webhook_events import permits_reported
from facilities.models import Facility
from facilities.rating import split_vat
from parkme.errors import (
    NotFound,
    PermitVehicleInside,
    SoldOut,
    ValidationFailed,
)
from parkme.models import User
from vehicles.plates import is_valid_normalized_plate, normalize_plate

logger = logging.getLogger(__name__)

MAX_PLATES = 3


def permit_rules() -> dict[str, int]:
    return settings.PARKME_PERMIT


# --- values -------------------------------------------------------------------------------


def plates_clean(plates: Any, *, field: str = "plates") -> tuple[list[str], list[str]]:
    """(plates as typed, normalised) for 1–3 distinct valid plates, or 400 naming them."""
    if not isinstance(plates, list) or not all(isinstance(p, str) for p in plates):
        raise ValidationFailed("Plates must be a list of strings.", fields={field: ["A list."]})
    if not 1 <= len(plates) <= MAX_PLATES:
        raise ValidationFailed(
            f"A permit carries 1 to {MAX_PLATES} plates.",
            fields={field: [f"Give 1 to {MAX_PLATES} plates, not {len(plates)}."]},
        )
    typed = [p.strip() for p in plates]
    normalized = [normalize_plate(p) for p in typed]
    bad = [t for t, n in zip(typed, normalized, strict=True) if not is_valid_normalized_plate(n)]
    if bad or any(len(t) > 20 for t in typed):
        raise ValidationFailed(
            "A plate is not valid.",
            fields={
                field: [f"Not a licence plate: {t!r}." for t in bad] or ["At most 20 characters."]
            },
        )
    if len(set(normalized)) != len(normalized):
        raise ValidationFailed(
            "The same plate is listed twice.", fields={field: ["Each plate once."]}
        )
    return typed, normalized


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def permit_period(*, first_day: date, index: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Period ``index`` (0 = the first) of a permit starting on local ``first_day``."""
    return (
        _local_midnight(_add_months(first_day, index), tz),
        _local_midnight(_add_months(first_day, index + 1), tz),
    )


def permit_next_period(permit: Permit) -> tuple[datetime, datetime]:
    """The period after the permit's current one, keeping the day it first started on."""
    tz = permit.product.facility.tz
    first_day = permit.first_day
    ends_local = permit.valid_to.astimezone(tz).date()
    months = (ends_local.year - first_day.year) * 12 + ends_local.month - first_day.month
    return permit_period(first_day=first_day, index=months, tz=tz)


@dataclass(frozen=True)
class PermitPrice:
    total: Decimal
    net: Decimal
    vat: Decimal
    currency: str
    vat_percent: Decimal


def product_price(product: PermitProduct) -> PermitPrice:
    """A period's price by the money rules of rate boards: VAT included, split to the cent."""
    net, vat = split_vat(product.monthly_price, Decimal(product.vat_percent))
    return PermitPrice(
        total=product.monthly_price,
        net=net,
        vat=vat,
        currency=product.currency,
        vat_percent=Decimal(product.vat_percent),
    )


# --- reads --------------------------------------------------------------------------------


def _overlapping(starts: datetime | Any, ends: datetime | Any) -> Q:
    return Q(valid_from__lt=ends, valid_to__gt=starts)


def permits_running(product: PermitProduct, starts: datetime, ends: datetime) -> int:
    """Permits of the product that count against its cap during ``[starts, ends)``."""
    return product.permits.filter(PERMIT_HELD, _overlapping(starts, ends)).count()


def permit_products_for_sale(
    *, facility_id: int | None = None, now: datetime | None = None
) -> QuerySet[PermitProduct]:
    """Products on sale at active facilities, with ``running`` (permits that count against
    the cap now) and their hours: one query for the products, one for the hours."""
    now = now or timezone.now()
    products = (
        PermitProduct.objects.on_sale()
        .select_related("facility")
        .prefetch_related("hours")
        .annotate(running=Count("permits", filter=_held_at("permits", now)))
        .order_by("facility_id", "name", "id")
    )
    if facility_id is not None:
        products = products.filter(facility_id=facility_id)
    return products


def _held_at(prefix: str, at: datetime) -> Q:
    """Permits (through ``prefix``) that count against their product's cap at ``at``."""
    return Q(
        **{
            f"{prefix}__status__in": [str(s) for s in PERMIT_HELD_STATUSES],
            f"{prefix}__valid_from__lte": at,
            f"{prefix}__valid_to__gt": at,
        }
    )


def permit_list_for_holder(*, holder: User, status: list[str] | None = None) -> QuerySet[Permit]:
    permits = (
        Permit.objects.for_holder(holder)
        .select_related("product__facility")
        .order_by("-valid_from", "-id")
    )
    if status:
        permits = permits.filter(status__in=status)
    return permits


def permit_get_for_holder(*, holder: User, public_id: Any) -> Permit:
    permit = permit_list_for_holder(holder=holder).filter(public_id=public_id).first()
    if permit is None:
        raise NotFound("No permit with this id.")
    return permit


_PRESENCE_SQL = f"""
    SELECT last.permit_id, last.plate_normalized, p.product_id FROM (
        SELECT DISTINCT ON (g.permit_id) g.permit_id, g.direction, g.plate_normalized
        FROM bookings_gateevent g
        WHERE g.facility_id = %(facility)s AND g.permit_id IS NOT NULL
          AND g.action = '{GateAction.OPEN.value}' AND g.at > %(since)s
        ORDER BY g.permit_id, g.at DESC, g.id DESC
    ) last JOIN bookings_permit p ON p.id = last.permit_id
    WHERE last.direction = '{GateDirection.ENTRY.value}' {{products}}
"""  # noqa: S608 - only constants are interpolated


@dataclass(frozen=True)
class Inside:
    permit_id: int
    plate: str
    product_id: int


def permits_inside(
    *, facility_id: int, product_ids: list[int] | None = None, now: datetime | None = None
) -> list[Inside]:
    """Permits with a vehicle inside the facility now (of these products, if given)."""
    now = now or timezone.now()
    since = now - timedelta(days=permit_rules()["PRESENCE_DAYS"])
    sql = _PRESENCE_SQL.format(
        products="AND p.product_id = ANY(%(products)s)" if product_ids is not None else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"facility": facility_id, "since": since, "products": product_ids})
        return [Inside(*row) for row in cursor.fetchall()]


def permit_inside_anywhere(permit: Permit, *, now: datetime | None = None) -> Inside | None:
    inside = permits_inside(
        facility_id=permit.product.facility_id, product_ids=[permit.product_id], now=now
    )
    return next((i for i in inside if i.permit_id == permit.pk), None)


# --- writes -------------------------------------------------------------------------------


def _event(
    permit: Permit,
    *,
    action: str,
    from_status: str,
    actor: User | None,
    actor_kind: str,
    now: datetime,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    PermitEvent.objects.create(
        permit=permit,
        action=action,
        from_status=from_status,
        to_status=permit.status,
        actor=actor,
        actor_kind=actor_kind,
        at=now,
        reason=reason[:255],
        data=data or {},
    )


def _plates_taken(
    product: PermitProduct, normalized: list[str], starts: datetime, ends: datetime, *, but=None
) -> list[str]:
    """Plates of ``normalized`` already on another running permit of the product then."""
    others = product.permits.filter(
        PERMIT_HELD, _overlapping(starts, ends), plates_normalized__overlap=normalized
    )
    if but is not None:
        others = others.exclude(pk=but.pk)
    taken: set[str] = set()
    for plates in others.values_list("plates_normalized", flat=True):
        taken |= set(plates) & set(normalized)
    return sorted(taken)


def _first_day_check(valid_from: date, *, tz: ZoneInfo, now: datetime, staff: bool) -> None:
    today = now.astimezone(tz).date()
    ahead = permit_rules()["MAX_START_AHEAD_DAYS"]
    if valid_from < today and not staff:
        raise ValidationFailed(
            "valid_from is in the past.",
            fields={"valid_from": [f"Today ({today.isoformat()}, local) or later."]},
        )
    if valid_from > today + timedelta(days=ahead):
        raise ValidationFailed(
            "valid_from is too far ahead.",
            fields={"valid_from": [f"At most {ahead} days ahead."]},
        )


@dataclass(frozen=True)
class PermitOrder:
    product_id: int
    plates: list[str]
    valid_from: date
    auto_renew: bool = True
    facility_id: int | None = None  # when given, the product must be of this facility
    holder: User | None = None
    company_name: str = ""
    contact_email: str = ""


@transaction.atomic
def permit_create(
    *, order: PermitOrder, actor: User, actor_kind: str, now: datetime | None = None
) -> Permit:
    """Sell (a driver, for themselves) or issue (staff, for a driver or a company fleet) a
    permit for its first period; 409 ``sold_out`` past the product's cap. Staff may issue a
    product that is not on sale, and backdate the start."""
    now = now or timezone.now()
    staff = actor_kind == ActorKind.STAFF
    permit_transition_check(action=PermitAction.CREATE, from_status="", actor_kind=actor_kind)
    typed, normalized = plates_clean(order.plates)
    # The product row lock queues every sale of the product: the count below is then exact.
    product = (
        PermitProduct.objects.select_for_update(of=("self",))
        .select_related("facility")
        .filter(pk=order.product_id)
        .first()
    )
    if product is None or (not staff and not (product.on_sale and product.facility.is_active)):
        raise ValidationFailed(
            "Unknown permit product.",
            fields={"product": ["No permit product on sale has this id."]},
        )
    if order.facility_id is not None and product.facility_id != order.facility_id:
        raise ValidationFailed(
            "The product is not sold at that facility.",
            fields={"product": ["This product belongs to another facility."]},
        )
    if order.holder is None and not order.contact_email:
        raise ValidationFailed(
            "A permit needs a holder or a contact e-mail.",
            fields={"contact_email": ["Give a driver account or a contact e-mail."]},
        )
    tz = product.facility.tz
    _first_day_check(order.valid_from, tz=tz, now=now, staff=staff)
    starts, ends = permit_period(first_day=order.valid_from, index=0, tz=tz)
    if taken := _plates_taken(product, normalized, starts, ends):
        raise ValidationFailed(
            "A plate already has a permit of this product for that period.",
            fields={"plates": [f"{plate} already has one." for plate in taken]},
        )
    if permits_running(product, starts, ends) >= product.sales_cap:
        raise SoldOut()
    price = product_price(product)
    permit = Permit.objects.create(
        product=product,
        holder=order.holder,
        company_name=order.company_name,
        contact_email=order.contact_email,
        plates=typed,
        plates_normalized=normalized,
        first_day=order.valid_from,
        valid_from=starts,
        valid_to=ends,
        status=PermitStatus.ACTIVE,
        auto_renew=order.auto_renew,
        price=price.total,
        price_vat=price.vat,
        currency=price.currency,
    )
    _event(
        permit,
        action=PermitAction.CREATE,
        from_status="",
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        data={"first_day": order.valid_from.isoformat(), "price": str(price.total)},
    )
    outbox_add_permit(permit=permit, kind=NotificationKind.PERMIT_CREATED)
    permits_reported([permit], PermitAction.CREATE)
    logger.info("permit %s issued for product %s", permit.reference, product.pk)
    return permit


def _locked(permit: Permit) -> Permit:
    locked = (
        Permit.objects.select_for_update(of=("self",))
        .select_related("product__facility", "holder")
        .filter(pk=permit.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No permit with this id.")
    return locked


@transaction.atomic
def permit_plates_change(
    *, permit: Permit, plates: Any, actor: User, actor_kind: str, now: datetime | None = None
) -> Permit:
    """Replace the plates; refused (409) while a vehicle of the permit is inside."""
    now = now or timezone.now()
    permit = _locked(permit)
    permit_transition_check(
        action=PermitAction.CHANGE_PLATES, from_status=permit.status, actor_kind=actor_kind
    )
    typed, normalized = plates_clean(plates)
    if permit_inside_anywhere(permit, now=now) is not None:
        raise PermitVehicleInside(
            "A vehicle of this permit is inside: change the plates after it leaves."
        )
    if taken := _plates_taken(
        permit.product, normalized, permit.valid_from, permit.valid_to, but=permit
    ):
        raise ValidationFailed(
            "A plate already has a permit of this product for that period.",
            fields={"plates": [f"{plate} already has one." for plate in taken]},
        )
    before = list(permit.plates)
    permit.plates, permit.plates_normalized = typed, normalized
    permit.save(update_fields=["plates", "plates_normalized", "updated_at"])
    _event(
        permit,
        action=PermitAction.CHANGE_PLATES,
        from_status=permit.status,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        data={"before": before, "after": typed},
    )
    return permit


def _move(
    permit: Permit,
    *,
    action: str,
    actor: User | None,
    actor_kind: str,
    now: datetime | None,
    reason: str = "",
) -> Permit:
    now = now or timezone.now()
    permit = _locked(permit)
    transition = permit_transition_check(
        action=action, from_status=permit.status, actor_kind=actor_kind
    )
    from_status = permit.status
    permit.status = transition.to_status
    fields = ["status", "status_reason", "updated_at"]
    permit.status_reason = reason[:255]
    if action == PermitAction.CANCEL:
        permit.auto_renew = False
        fields.append("auto_renew")
    permit.save(update_fields=fields)
    _event(
        permit,
        action=action,
        from_status=from_status,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        reason=reason,
    )
    return permit


@transaction.atomic
def permit_cancel(
    *, permit: Permit, actor: User, actor_kind: str, reason: str = "", now: datetime | None = None
) -> Permit:
    """No renewal: the permit stays valid to the end of its period, then expires."""
    permit = _move(
        permit,
        action=PermitAction.CANCEL,
        actor=actor,
        actor_kind=actor_kind,
        now=now,
        reason=reason or "cancelled",
    )
    permits_reported([permit], PermitAction.CANCEL)
    return permit


def _reason_required(reason: str) -> str:
    if not reason.strip():
        raise ValidationFailed("Give a reason.", fields={"reason": ["Required."]})
    return reason.strip()


@transaction.atomic
def permit_suspend(
    *, permit: Permit, actor: User, reason: str, now: datetime | None = None
) -> Permit:
    """Staff: the gate denies the permit (``permit_suspended``) until it is reactivated."""
    return _move(
        permit,
        action=PermitAction.SUSPEND,
        actor=actor,
        actor_kind=ActorKind.STAFF,
        now=now,
        reason=_reason_required(reason),
    )


@transaction.atomic
def permit_reactivate(
    *, permit: Permit, actor: User, reason: str, now: datetime | None = None
) -> Permit:
    return _move(
        permit,
        action=PermitAction.REACTIVATE,
        actor=actor,
        actor_kind=ActorKind.STAFF,
        now=now,
        reason=_reason_required(reason),
    )


def permit_is_valid_at(permit: Permit, at: datetime) -> bool:
    """In its period and in a state that lets plates in (hours aside)."""
    return permit.status in PERMIT_VALID_STATUSES and permit.valid_from <= at < permit.valid_to


def permits_for_plate(*, facility_id: int, plate_normalized: str, at: datetime) -> list[Permit]:
    """Permits at the facility carrying the plate, not expired, whose period has started
    or ends near ``at`` — most useful first (valid now, then others)."""
    permits = list(
        Permit.objects.filter(
            product__facility_id=facility_id,
            plates_normalized__contains=[plate_normalized],
        )
        .filter(Q(PERMIT_HELD) | Q(valid_to__gt=at - timedelta(days=31)))
        .select_related("product__facility")
        .prefetch_related("product__hours")
        .order_by("-valid_to", "-id")[:10]
    )
    permits.sort(key=lambda p: (not permit_is_valid_at(p, at), p.status != PermitStatus.ACTIVE))
    return permits


# --- allocations --------------------------------------------------------------------------


def permit_allocation_check(*, facility_id: int, kind: str, now: datetime | None = None) -> None:
    """After a product's allocation or hours changed (inside the same transaction): lock
    the facility's allocations against bookings in flight and refuse (400, rolled back by
    the caller's transaction) when live bookings of the kind plus the spaces allocated
    would ever need more spots than the facility has bookable."""
    now = now or timezone.now()
    allocations_lock_exclusive(facility_id=facility_id)
    problem = allocation_problem(facility_id=facility_id, kind=kind, now=now)
    if problem is None:
        return
    facility = Facility.objects.get(pk=facility_id)
    at = problem.at.astimezone(facility.tz)
    free_for_permits = max(0, problem.bookable - problem.bookings)
    raise ValidationFailed(
        f"Not enough {kind} spots: at {at:%Y-%m-%d %H:%M} ({facility.timezone}) "
        f"{problem.bookings} live booking(s) and {problem.allocated} allocated space(s) would "
        f"need {problem.bookings + problem.allocated} of {problem.bookable} bookable spots; "
        f"at most {free_for_permits} can be allocated then.",
        fields={"allocated_spaces": ["More than the facility can hold with its bookings."]},
    )


@transaction.atomic
def permit_product_save(
    *, product: PermitProduct, hours: list[dict[str, Any]] | None = None
) -> PermitProduct:
    """Create or change a product (and replace its hours, if given), refusing an
    allocation the facility cannot honour (see permit_allocation_check)."""
    product.full_clean(exclude=["facility"])
    product.save()
    if hours is not None:
        product.hours.all().delete()
        PermitHours.objects.bulk_create(
            [
                PermitHours(
                    product=product,
                    weekdays=sorted(band["weekdays"]),
                    starts=band["starts"],
                    ends=band["ends"],
                )
                for band in hours
            ]
        )
    permit_allocation_check(facility_id=product.facility_id, kind=product.spot_kind)
    return product


# --- the driver API -----------------------------------------------------------------------


def permit_product_available(product: PermitProduct) -> bool:
    """Whether a product from ``permit_products_for_sale`` has a permit left to sell now
    (its ``running`` permits are under the cap). Only a hint for the catalogue: a sale
    counts the permits of its own period under the product's lock, so it may still be
    ``sold_out`` for a later start, or sell when this said no."""
    return product.running < product.sales_cap  # type: ignore[attr-defined]
