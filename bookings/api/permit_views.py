"""Drivers' permits (monthly passes): the products on sale, buying one, and their own.

The views only parse and render: what may be sold, to whom, for when and at what price is
``bookings.permits``. Times come back in the facility's offset, money as strings, like
bookings.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from bookings import permits
from bookings.api.views import BookingThrottled, EmptyInput
from bookings.models import PermitProduct
from bookings.permit_hours import hours_dump, hours_of, hours_text
from bookings.representations import HOURS_TEXT, PermitFacilityOutput, PermitOutput
from bookings.states import ActorKind, PermitStatus
from facilities.api.pricing_serializers import SpotKindField
from parkme.api.fields import (
    PageQuery,
    StrictBooleanField,
    StrictIntegerField,
    StrictSerializer,
)
from parkme.api.pagination import StandardPagination
from parkme.api.schema import (
    DRIVER,
    JSON_BODY,
    NOT_FOUND,
    VALIDATION,
    api_operation,
    domain_error,
    paginated,
)
from parkme.api.views import ApiView
from parkme.errors import InvalidTransition, PermitVehicleInside, SoldOut
from vehicles.api.views import PLATE_PATTERN, PlateField

_MONEY = {"max_digits": 10, "decimal_places": 2}
_ID = {"min_value": 1, "max_value": 2**63 - 1}


# --- fields -------------------------------------------------------------------------------


_PLATES_RULE = (
    f"1 to {permits.MAX_PLATES} plates, each as typed, at most 20 characters; ignoring spaces "
    "and dashes each must be 1-15 letters or digits (any alphabet), and no plate twice "
    "(compared after normalisation). A plate on another running permit of the same product "
    "for the same period is refused."
)


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": permits.MAX_PLATES,
        "uniqueItems": True,
        "items": {
            "type": "string",
            "minLength": 1,
            "maxLength": 20,
            "pattern": PLATE_PATTERN,
            "example": "ABC-123",
        },
        "description": _PLATES_RULE,
    }
)
class PlatesField(serializers.ListField):
    """1-3 plates as JSON strings. Every problem comes back as a flat list of messages under
    the field's name (the error format has no per-item level); whether the plates are
    valid and distinct once normalised is ``permits.plates_clean``'s call."""

    def __init__(self, **kwargs: Any) -> None:
        n = permits.MAX_PLATES
        super().__init__(
            child=PlateField(),
            min_length=1,
            max_length=n,
            error_messages={
                "min_length": f"Give 1 to {n} plates.",
                "max_length": f"Give 1 to {n} plates.",
                "empty": f"Give 1 to {n} plates.",
                "not_a_list": f"A list of 1 to {n} plates (strings).",
            },
            **kwargs,
        )

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if not isinstance(exc.detail, dict):
                raise
            raise serializers.ValidationError(
                [
                    f"Plate {int(index) + 1}: {message}"
                    for index, messages in exc.detail.items()
                    for message in messages
                ]
            ) from exc


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DayField(serializers.DateField):
    """A JSON string ``YYYY-MM-DD`` only: Python also reads ``20260501`` or a number as a
    day, which the schema's ``format: date`` does not allow."""

    def to_internal_value(self, value: Any) -> date:
        if not isinstance(value, str) or not _DAY.match(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


# --- products -----------------------------------------------------------------------------


class PermitHoursOutput(serializers.Serializer):
    weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        help_text="0 = Monday … 6 = Sunday: the days a band starts on.",
    )
    starts = serializers.CharField(help_text="Local `HH:MM`.")
    ends = serializers.CharField(
        help_text="Local `HH:MM`; not after `starts` means the next day (17:00 → 09:00 "
        "crosses midnight, 00:00 → 00:00 is the whole day)."
    )


class PermitProductOutput(serializers.Serializer):
    """A product on sale; money is per period (a calendar month), VAT included."""

    id = serializers.IntegerField()
    facility = PermitFacilityOutput()
    name = serializers.CharField()
    spot_kind = SpotKindField()
    hours = PermitHoursOutput(
        many=True, help_text="When the permit lets its plates in, in the facility's local time."
    )
    hours_text = serializers.CharField(help_text=HOURS_TEXT)
    monthly_price = serializers.DecimalField(
        **_MONEY, help_text="What each period costs, VAT included."
    )
    price_net = serializers.DecimalField(**_MONEY)
    price_vat = serializers.DecimalField(**_MONEY, help_text="The VAT in `monthly_price`.")
    vat_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    currency = serializers.CharField()
    available = serializers.BooleanField(
        help_text="Whether any permit is left to sell now. A purchase counts the permits of "
        "its own period, so it can still be `409 sold_out` for a later start."
    )

    def to_representation(self, instance: PermitProduct) -> dict[str, Any]:
        price = permits.product_price(instance)
        hours = hours_of(instance.hours.all())
        return super().to_representation(
            {
                "id": instance.pk,
                "facility": instance.facility,
                "name": instance.name,
                "spot_kind": instance.spot_kind,
                "hours": hours_dump(hours),
                "hours_text": hours_text(hours),
                "monthly_price": price.total,
                "price_net": price.net,
                "price_vat": price.vat,
                "vat_percent": price.vat_percent,
                "currency": price.currency,
                "available": permits.permit_product_available(instance),
            }
        )


class PermitProductListQuery(PageQuery):
    facility = serializers.IntegerField(
        required=False, **_ID, help_text="Only the products of this facility."
    )


_PRODUCT = {
    "id": 4,
    "facility": {"id": 1, "name": "Kamppi", "timezone": "Europe/Helsinki"},
    "name": "Commuter",
    "spot_kind": "standard",
    "hours": [{"weekdays": [0, 1, 2, 3, 4], "starts": "06:00", "ends": "20:00"}],
    "hours_text": "Mon–Fri 06:00–20:00",
    "monthly_price": "120.00",
    "price_net": "95.62",
    "price_vat": "24.38",
    "vat_percent": "25.50",
    "currency": "EUR",
    "available": True,
}


class PermitProductListView(ApiView):
    @api_operation(
        operation_id="permit_products_list",
        tags=["permits"],
        summary="Permits on sale",
        description="The permit products on sale at active facilities (optionally one "
        "facility's), by facility then name, paginated. Each says when it lets its plates in "
        "(`hours`, local time), what a month costs and whether any is left to sell now. A "
        "page past the last one is a `404`.",
        parameters=[PermitProductListQuery],
        responses={
            200: OpenApiResponse(
                paginated(PermitProductOutput(many=True), "PaginatedPermitProducts"),
                description="One page of products.",
            )
        },
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="`facility` is empty or not a positive whole number, or a page number "
                "or size is out of range.",
                fields={"facility": ["A valid integer is required."]},
            ),
            NOT_FOUND.but(when="A page past the last one.", message="Invalid page."),
        ],
        examples=[
            OpenApiExample(
                "One product",
                value={"count": 1, "next": None, "previous": None, "results": [_PRODUCT]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = PermitProductListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        products = permits.permit_products_for_sale(
            facility_id=query.validated_data.get("facility")
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(products, request, view=self)
        return paginator.get_paginated_response(PermitProductOutput(page, many=True).data)


# --- permits ------------------------------------------------------------------------------


class PermitCreateInput(StrictSerializer):
    product = StrictIntegerField(**_ID, help_text="Id of a permit product on sale.")
    plates = PlatesField()
    valid_from = DayField(
        help_text="The first day, `YYYY-MM-DD`, in the facility's local calendar: today or "
        f"later, at most {permits.permit_rules()['MAX_START_AHEAD_DAYS']} days ahead. The "
        "first period runs from that day's local midnight to the same day a month later."
    )
    auto_renew = StrictBooleanField(
        default=True, help_text="Renew every month until cancelled (default true)."
    )
    facility = StrictIntegerField(
        required=False,
        **_ID,
        help_text="Optional: the facility you are buying at; the product must be one of its "
        "own, otherwise `400` on `product`.",
    )


class PermitPlatesInput(StrictSerializer):
    # Optional like any PATCH field (the schema says so): without it nothing changes.
    plates = PlatesField(required=False)


class PermitListQuery(PageQuery):
    status = serializers.MultipleChoiceField(
        choices=PermitStatus.choices,
        required=False,
        help_text="Only permits in these states; repeat the parameter for several.",
    )


_PERMIT = {
    "id": "5d0c7a3e-1b2f-4c6d-9e8a-7f6b5c4d3e2a",
    "reference": "P7KQ2M9X",
    "status": "active",
    "product": {
        "id": 4,
        "name": "Commuter",
        "spot_kind": "standard",
        "hours_text": "Mon–Fri 06:00–20:00",
    },
    "facility": {"id": 1, "name": "Kamppi", "timezone": "Europe/Helsinki"},
    "plates": ["ABC-123", "XYZ 789"],
    "valid_from": "2026-05-15T00:00:00+03:00",
    "valid_to": "2026-06-15T00:00:00+03:00",
    "auto_renew": True,
    "price": "120.00",
    "price_vat": "24.38",
    "currency": "EUR",
    "status_reason": "",
    "created_at": "2026-05-14T17:12:03.512000+03:00",
}
_PERMIT_EXAMPLE = OpenApiExample("An active permit", value=_PERMIT, response_only=True)
PERMIT_NOT_FOUND = NOT_FOUND.but(
    when="None of your permits has this id.", message="No permit with this id."
)
PERMIT_INVALID_TRANSITION = domain_error(
    InvalidTransition,
    "The permit's state (named in `fields.status`) does not allow this action.",
    message="Cannot cancel a permit that is expired.",
    fields={"status": ["expired"]},
)
_BODY_INVALID = VALIDATION.but(
    when="The body is not a JSON object, or has a field this action does not take.",
    fields={"reason": ["Unknown field."]},
)


def _permit_links(id_at: str, which: str) -> dict[str, dict]:
    return {
        f"{name}Permit": {
            "operationId": f"permits_{operation}",
            "parameters": {"public_id": f"$response.body#{id_at}"},
            "description": f"{verb} {which}.",
        }
        for name, operation, verb in (
            ("Get", "retrieve", "Read"),
            ("ChangePlates", "partial_update", "Change the plates of"),
            ("Cancel", "cancel", "Cancel"),
        )
    }


_PERIOD_RULE = (
    "A permit runs for whole calendar months from local midnight of `valid_from`: 15 May → "
    "15 June 00:00 in the facility's time zone (a start on the 31st ends on the last day of "
    "a shorter month). The first period is priced as a whole month, whatever day it starts "
    "(no pro rata), VAT included."
)


class PermitListCreateView(ApiView):
    def get_throttles(self):
        if self.request.method == "POST":
            return [t() for t in BookingThrottled.throttle_classes]
        return super().get_throttles()

    @api_operation(
        operation_id="permits_list",
        tags=["permits"],
        summary="List your permits",
        description="Your permits, latest period first, paginated; optionally only some "
        "states. A page past the last one is a `404`.",
        parameters=[PermitListQuery],
        links={200: _permit_links("/results/0/id", "the first permit listed")},
        responses={
            200: OpenApiResponse(
                paginated(PermitOutput(many=True), "PaginatedPermits"),
                description="One page of your permits.",
            )
        },
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="A parameter is empty, not a known state, or a page number or size out "
                "of range.",
                fields={"status": ['"lost" is not a valid choice.']},
            ),
            NOT_FOUND.but(when="A page past the last one.", message="Invalid page."),
        ],
        examples=[
            OpenApiExample(
                "One permit",
                value={"count": 1, "next": None, "previous": None, "results": [_PERMIT]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = PermitListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = permits.permit_list_for_holder(
            holder=request.user, status=sorted(query.validated_data.get("status") or [])
        ).prefetch_related("product__hours")  # each permit names its product's hours
        paginator = StandardPagination()
        page = paginator.paginate_queryset(found, request, view=self)
        return paginator.get_paginated_response(PermitOutput(page, many=True).data)

    @api_operation(
        operation_id="permits_create",
        tags=["permits"],
        summary="Buy a permit",
        description="Buys a permit of the product for you, `active` from `valid_from` for "
        f"its first period, with 1 to {permits.MAX_PLATES} plates (one vehicle inside at a "
        f"time). {_PERIOD_RULE} With `auto_renew` it is renewed each month, at the product's "
        "price then, until cancelled. A product sells at most `allocated × (1 + oversell)` "
        "permits running at once: past that, for any moment of the new period, it is `409 "
        "sold_out`. The holder gets an e-mail.",
        request=PermitCreateInput,
        responses={201: OpenApiResponse(PermitOutput, description="The permit.")},
        links={201: _permit_links("/id", "the permit just bought")},
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="A field breaks a rule: an unknown product or one not on sale, or not "
                "of `facility` (`fields.product`); no plate, more than "
                f"{permits.MAX_PLATES}, an invalid one, one twice, or one already on a "
                "permit of the product for the period (`fields.plates`); `valid_from` "
                "before today or too far ahead (`fields.valid_from`); an unknown field.",
                fields={"valid_from": ["Today (2026-05-14, local) or later."]},
            ),
            *JSON_BODY,
            domain_error(
                SoldOut,
                "The product's permits running during the new period already reach its cap.",
            ),
        ],
        examples=[
            OpenApiExample(
                "Two cars from the 15th",
                value={
                    "product": 4,
                    "plates": ["ABC-123", "XYZ 789"],
                    "valid_from": "2026-05-15",
                    "auto_renew": True,
                },
                request_only=True,
            ),
            _PERMIT_EXAMPLE,
        ],
    )
    def post(self, request):
        data = PermitCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        permit = permits.permit_create(
            order=permits.PermitOrder(
                product_id=v["product"],
                plates=v["plates"],
                valid_from=v["valid_from"],
                auto_renew=v["auto_renew"],
                facility_id=v.get("facility"),
                holder=request.user,
            ),
            actor=request.user,
            actor_kind=ActorKind.DRIVER,
        )
        return Response(PermitOutput(permit).data, status=status.HTTP_201_CREATED)


class PermitDetailView(ApiView):
    def get_throttles(self):
        if self.request.method == "PATCH":
            return [t() for t in BookingThrottled.throttle_classes]
        return super().get_throttles()

    @api_operation(
        operation_id="permits_retrieve",
        tags=["permits"],
        summary="Read one of your permits",
        description="One of your permits, in any state. Someone else's is a `404`.",
        responses={200: OpenApiResponse(PermitOutput, description="The permit.")},
        errors=[*DRIVER, PERMIT_NOT_FOUND],
        examples=[_PERMIT_EXAMPLE],
    )
    def get(self, request, public_id):
        permit = permits.permit_get_for_holder(holder=request.user, public_id=public_id)
        return Response(PermitOutput(permit).data)

    @api_operation(
        operation_id="permits_partial_update",
        tags=["permits"],
        summary="Change a permit's plates",
        description="Replaces the plates (the whole list) of an `active`, `suspended` or "
        "`cancelled` permit; only `plates` may be sent, and an empty object changes nothing. "
        "Refused with `409 permit_vehicle_inside` while a vehicle of the permit is inside "
        "the facility: change them after it has left.",
        request=PermitPlatesInput,
        responses={200: OpenApiResponse(PermitOutput, description="The permit, updated.")},
        errors=[
            *DRIVER,
            PERMIT_NOT_FOUND,
            VALIDATION.but(
                when="`plates` breaks a rule (none, more than "
                f"{permits.MAX_PLATES}, an invalid one, one twice, one already on another "
                "permit of the product for the period), or another field was sent.",
                fields={"plates": ["Give 1 to 3 plates."]},
            ),
            *JSON_BODY,
            domain_error(
                PermitVehicleInside,
                "A vehicle of the permit entered the facility and has not left.",
            ),
            PERMIT_INVALID_TRANSITION.but(
                when="The permit is `expired`.",
                message="Cannot change the plates of a permit that is expired.",
            ),
        ],
        examples=[
            OpenApiExample(
                "A new car", value={"plates": ["ABC-123", "NEW-456"]}, request_only=True
            ),
            _PERMIT_EXAMPLE,
        ],
    )
    def patch(self, request, public_id):
        permit = permits.permit_get_for_holder(holder=request.user, public_id=public_id)
        data = PermitPlatesInput(data=request.data)
        data.is_valid(raise_exception=True)
        if "plates" in data.validated_data:
            permit = permits.permit_plates_change(
                permit=permit,
                plates=data.validated_data["plates"],
                actor=request.user,
                actor_kind=ActorKind.DRIVER,
            )
        return Response(PermitOutput(permit).data)


class PermitCancelView(BookingThrottled):
    @api_operation(
        operation_id="permits_cancel",
        tags=["permits"],
        summary="Cancel a permit",
        description="`active` or `suspended` → `cancelled`: the permit is not renewed "
        "(`auto_renew` becomes false) and still lets its plates in until `valid_to`, then "
        "expires. No body is needed (an empty JSON object is accepted).",
        request=EmptyInput,
        responses={200: OpenApiResponse(PermitOutput, description="The permit, cancelled.")},
        errors=[
            *DRIVER,
            PERMIT_NOT_FOUND,
            _BODY_INVALID,
            *JSON_BODY,
            PERMIT_INVALID_TRANSITION.but(when="The permit is already `cancelled` or `expired`."),
        ],
        examples=[
            OpenApiExample("No body, or an empty object", value={}, request_only=True),
            _PERMIT_EXAMPLE,
        ],
    )
    def post(self, request, public_id):
        permit = permits.permit_get_for_holder(holder=request.user, public_id=public_id)
        EmptyInput(data=request.data).is_valid(raise_exception=True)
        permit = permits.permit_cancel(
            permit=permit, actor=request.user, actor_kind=ActorKind.DRIVER
        )
        return Response(PermitOutput(permit).data)
