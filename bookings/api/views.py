"""Drivers' bookings and gate devices' events."""

from __future__ import annotations

import re

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from bookings import selectors, services
from bookings.gate import GateReason, gate_event_process, gate_facility_for_device
from bookings.models import GateAction, GateDirection
from bookings.representations import BookingOutput, GateBookingOutput, GatePermitOutput
from bookings.states import ActorKind, BookingStatus
from facilities.api.pricing_serializers import PriceLineOutput
from facilities.api.views import NO_RATE_IN_FORCE
from facilities.models import SpotKind
from parkme.api.fields import (
    AwareDateTimeField,
    OffsetDateTimeField,
    PageQuery,
    QuerySerializer,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
)
from parkme.api.pagination import StandardPagination
from parkme.api.schema import (
    AUTHENTICATION_FAILED,
    DRIVER,
    JSON_BODY,
    NOT_AUTHENTICATED,
    NOT_FOUND,
    VALIDATION,
    ErrorKind,
    api_operation,
    domain_error,
    paginated,
)
from parkme.api.throttles import BookingBurstThrottle, BookingThrottle, GateThrottle, UserThrottle
from parkme.api.views import ApiView
from parkme.errors import (
    BookingLimitReached,
    IdempotencyKeyReused,
    InvalidTransition,
    NoAvailability,
    PermissionDenied,
    QuoteExpired,
    ValidationFailed,
    VehicleBusy,
)

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


_WINDOW_RULES = (
    "ISO-8601 with an offset. `ends_at` after `starts_at`; at least 15 minutes and at most "
    "30 days long; `starts_at` at most 5 minutes in the past and at most 90 days ahead."
)


class BookingCreateInput(StrictSerializer):
    facility = StrictIntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of an active facility."
    )
    vehicle = StrictIntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of one of your active vehicles."
    )
    starts_at = AwareDateTimeField(help_text=_WINDOW_RULES)
    ends_at = AwareDateTimeField(help_text=_WINDOW_RULES)
    spot_kind = serializers.ChoiceField(
        choices=SpotKind.choices,
        required=False,
        allow_null=True,
        help_text="Without it (or null), a car or van gets `standard` and a motorcycle "
        "`motorcycle`. A car may use standard, compact, ev or accessible; a van standard, "
        "accessible or ev; a motorcycle motorcycle, standard or compact.",
    )
    hold = StrictBooleanField(
        default=False,
        help_text="true: the booking is `held` for 10 minutes until confirmed; false: it is "
        "`confirmed` at once.",
    )
    quote_token = StrictCharField(
        required=False,
        max_length=2048,
        # Untrimmed: "  " is simply not a token ParkMe issued (one message for every forgery).
        trim_whitespace=False,
        help_text="From `GET facilities/{id}/quote/` for the same facility, window and spot "
        "kind: the booking keeps the quoted price until the quote's `expires_at` (then 409 "
        "`quote_expired`).",
    )


class BookingListQuery(PageQuery):
    status = serializers.MultipleChoiceField(
        choices=BookingStatus.choices,
        required=False,
        help_text="Only bookings in these states; repeat the parameter for several.",
    )
    date_from = serializers.DateField(
        required=False,
        help_text="Only bookings starting on or after this day (the facility's local day).",
    )
    date_to = serializers.DateField(
        required=False,
        help_text="Only bookings starting on or before this day (the facility's local day).",
    )


class BookingThrottled(ApiView):
    throttle_classes = [UserThrottle, BookingThrottle, BookingBurstThrottle]


def _idempotency_key(request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.match(key):
        raise ValidationFailed(
            "Idempotency-Key must be 1-255 visible ASCII characters.",
            fields={"Idempotency-Key": ["1-255 visible ASCII characters."]},
        )
    return key


_BOOKING = {
    "id": "0b6f1c2e-9a8d-4c7e-8f1a-2b3c4d5e6f70",
    "reference": "7KQ2M9XD",
    "status": "confirmed",
    "facility": {"id": 1, "name": "Kamppi", "timezone": "Europe/Helsinki"},
    "spot": {"id": 12, "code": "P1-S012", "kind": "standard", "zone": "P1", "level": -1},
    "spot_kind": "standard",
    "vehicle": {"id": 3, "plate": "abc-123"},
    "starts_at": "2026-05-01T09:00:00+03:00",
    "ends_at": "2026-05-01T12:00:00+03:00",
    "price": "9.00",
    "currency": "EUR",
    "access_code": "482913",
    "hold_expires_at": None,
    "checked_in_at": None,
    "checked_out_at": None,
    "overstay_fee": "0.00",
    "price_vat": "1.83",
    "price_lines": [
        {
            "label": "Day",
            "starts_at": "2026-05-01T09:00:00+03:00",
            "ends_at": "2026-05-01T12:00:00+03:00",
            "units": 3,
            "unit_price": "3.00",
            "amount": "9.00",
        }
    ],
    "rate_version": 1,
    "cancellation_fee": "0.00",
    "refund_due": "0.00",
    "created_at": "2026-04-28T17:12:03.512000+03:00",
}
_BOOKING_EXAMPLE = OpenApiExample("A confirmed booking", value=_BOOKING, response_only=True)
BOOKING_NOT_FOUND = NOT_FOUND.but(
    when="None of your bookings has this id.", message="No booking with this id."
)
_BODY_INVALID = VALIDATION.but(
    when="The body is not a JSON object, or has a field this action does not take.",
    fields={"valet": ["Unknown field."]},
)
INVALID_TRANSITION = domain_error(
    InvalidTransition,
    "The booking's state (named in `fields.status`) or the clock does not allow this action.",
    message="Cannot confirm a booking that is cancelled.",
    fields={"status": ["cancelled"]},
)
NO_AVAILABILITY = domain_error(NoAvailability, "No spot of the kind is free for the window.")
VEHICLE_BUSY = domain_error(VehicleBusy, "The vehicle has a live booking that overlaps the window.")


def _booking_links(id_at: str, which: str) -> dict[str, dict]:
    return {
        f"{name}Booking": {
            "operationId": f"bookings_{operation}",
            "parameters": {"public_id": f"$response.body#{id_at}"},
            "description": f"{verb} {which}.",
        }
        for name, operation, verb in (
            ("Get", "retrieve", "Read"),
            ("Confirm", "confirm", "Confirm"),
            ("Cancel", "cancel", "Cancel"),
            ("Extend", "extend", "Extend"),
            ("CheckIn", "check_in", "Check in to"),
            ("CheckOut", "check_out", "Check out of"),
        )
    }


class BookingListCreateView(ApiView):
    def get_throttles(self):
        if self.request.method == "POST":
            return [t() for t in BookingThrottled.throttle_classes]
        return super().get_throttles()

    @api_operation(
        operation_id="bookings_list",
        tags=["bookings"],
        summary="List your bookings",
        description="Your bookings, latest start first, paginated; optionally only some "
        "states and a range of days (each booking's local calendar day at its facility, "
        "both ends inclusive). A page past the last one is a `404`.",
        parameters=[BookingListQuery],
        links={200: _booking_links("/results/0/id", "the first booking listed")},
        responses={
            200: OpenApiResponse(
                paginated(BookingOutput(many=True), "PaginatedBookings"),
                description="One page of your bookings.",
            )
        },
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="A parameter is empty, not a known state, not a `YYYY-MM-DD` day, or a "
                "page number or size out of range.",
                fields={
                    "date_from": [
                        "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
                    ]
                },
            ),
            NOT_FOUND.but(when="A page past the last one.", message="Invalid page."),
        ],
        examples=[
            OpenApiExample(
                "One booking",
                value={"count": 1, "next": None, "previous": None, "results": [_BOOKING]},
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = BookingListQuery(
            data={
                **request.query_params.dict(),
                "status": request.query_params.getlist("status"),
            }
            if "status" in request.query_params
            else request.query_params
        )
        query.is_valid(raise_exception=True)
        params = query.validated_data
        bookings = selectors.booking_list_for_driver(
            driver=request.user,
            status=sorted(params.get("status") or []),
            date_from=params.get("date_from"),
            date_to=params.get("date_to"),
        )
        paginator = StandardPagination()
        page = paginator.paginate_queryset(bookings, request, view=self)
        return paginator.get_paginated_response(BookingOutput(page, many=True).data)

    @api_operation(
        operation_id="bookings_create",
        tags=["bookings"],
        summary="Book a spot",
        description="Books a free spot of the kind at the facility for the window, priced "
        "by the rate plan in force. `hold: true` keeps it `held` for 10 minutes until you "
        "`confirm` it; otherwise it is `confirmed` at once and a confirmation e-mail is sent. "
        "Times come back in the facility's offset.\n\n"
        "**Idempotent retries**: with an `Idempotency-Key`, a retry with the same key and the "
        "same body (the same field values; times compared as instants; a missing `spot_kind` "
        "equals null and a missing `hold` equals false) answers the booking the first request "
        "made, as it is now, with `201` and `Idempotent-Replayed: true`, and creates nothing. "
        "The same key with another body is `422 idempotency_key_reused`. A refused request "
        "stores nothing, so retrying it tries again.",
        request=BookingCreateInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                OpenApiParameter.HEADER,
                required=False,
                description="Makes retries safe: 1-255 visible ASCII characters "
                "(0x21-0x7E), chosen by you, one per booking you mean to make. Keys "
                "belong to your account.",
            )
        ],
        responses={
            201: OpenApiResponse(
                BookingOutput,
                description="The booking, on a free spot; or, with `Idempotent-Replayed: "
                "true`, the one an earlier request with the same key made.",
            )
        },
        headers={201: ["Idempotent-Replayed"]},
        links={201: _booking_links("/id", "the booking just made")},
        errors=[
            *DRIVER,
            VALIDATION.but(
                when="A field breaks a rule: the window, an unknown facility or vehicle "
                "(`fields.facility`, `fields.vehicle`), a spot kind the vehicle cannot use "
                "(`fields.spot_kind`), an unknown field, or a malformed `Idempotency-Key` "
                '(`fields["Idempotency-Key"]`).',
                fields={"starts_at": ["starts_at is in the past."]},
            ),
            *JSON_BODY,
            NO_AVAILABILITY,
            NO_RATE_IN_FORCE,
            domain_error(QuoteExpired, "The `quote_token` is older than its `expires_at`."),
            VEHICLE_BUSY,
            domain_error(
                BookingLimitReached,
                "You already hold 5 live (`held`, `confirmed` or `active`) bookings.",
            ),
            domain_error(
                IdempotencyKeyReused,
                "This `Idempotency-Key` was used with another body.",
            ),
        ],
        examples=[
            OpenApiExample(
                "Three hours tomorrow",
                value={
                    "facility": 1,
                    "vehicle": 3,
                    "starts_at": "2026-05-01T09:00:00+03:00",
                    "ends_at": "2026-05-01T12:00:00+03:00",
                    "spot_kind": "standard",
                    "hold": False,
                },
                request_only=True,
            ),
            _BOOKING_EXAMPLE,
        ],
    )
    def post(self, request):
        key = _idempotency_key(request)
        data = BookingCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        booking, created = services.booking_create(
            driver=request.user,
            request=services.BookingRequest(
                facility_id=v["facility"],
                vehicle_id=v["vehicle"],
                starts_at=v["starts_at"],
                ends_at=v["ends_at"],
                spot_kind=v.get("spot_kind"),
                hold=v["hold"],
                quote_token=v.get("quote_token"),
            ),
            idempotency_key=key,
        )
        response = Response(BookingOutput(booking).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class BookingDetailView(ApiView):
    @api_operation(
        operation_id="bookings_retrieve",
        tags=["bookings"],
        summary="Read one of your bookings",
        description="One of your bookings, in any state. Someone else's is a `404`.",
        responses={200: OpenApiResponse(BookingOutput, description="The booking.")},
        errors=[*DRIVER, BOOKING_NOT_FOUND],
        examples=[_BOOKING_EXAMPLE],
    )
    def get(self, request, public_id):
        booking = selectors.booking_get_for_driver(driver=request.user, public_id=public_id)
        return Response(BookingOutput(booking).data)


class ExtendQuoteQuery(QuerySerializer):
    ends_at = AwareDateTimeField(
        help_text="The new end you consider: after the current end, in the future, and at "
        "most 30 days after `starts_at`. ISO-8601 with an offset."
    )


class ExtendQuoteOutput(serializers.Serializer):
    booking = serializers.UUIDField(source="booking.public_id")
    ends_at = OffsetDateTimeField(help_text="The new end, in the facility's time.")
    currency = serializers.CharField(source="price.currency")
    current_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    price = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        source="price.total",
        help_text="The whole booking's price with the new end, by its own rate board.",
    )
    difference = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="What extending costs: price − current."
    )
    lines = PriceLineOutput(many=True, source="price.lines")


class BookingExtendQuoteView(ApiView):
    @api_operation(
        operation_id="bookings_extend_quote",
        tags=["bookings"],
        summary="What an extension would cost",
        description="The price of the booking with a later end, by the rate board that priced "
        "it, and the difference to pay, before extending. Whether the spot is still free "
        "after the current end is only known when you extend (`409 no_availability`).",
        parameters=[ExtendQuoteQuery],
        responses={200: OpenApiResponse(ExtendQuoteOutput, description="The price difference.")},
        errors=[
            *DRIVER,
            BOOKING_NOT_FOUND,
            VALIDATION.but(
                when="`ends_at` is missing, malformed or without an offset, not after the "
                "current end, in the past, or more than 30 days after `starts_at`.",
                fields={"ends_at": ["Must be later than the current end."]},
            ),
            INVALID_TRANSITION,
            NO_RATE_IN_FORCE,
        ],
    )
    def get(self, request, public_id):
        booking = selectors.booking_get_for_driver(driver=request.user, public_id=public_id)
        query = ExtendQuoteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = selectors.booking_extend_quote(
            booking=booking,
            ends_at=query.validated_data["ends_at"],
            actor_kind=ActorKind.DRIVER,
        )
        return Response(ExtendQuoteOutput(quote).data)


class EmptyInput(StrictSerializer):
    pass


class CancelInput(StrictSerializer):
    reason = StrictCharField(
        max_length=255, required=False, allow_blank=True, help_text="Why, for the history."
    )


class ExtendInput(StrictSerializer):
    ends_at = AwareDateTimeField(
        help_text="The new end: after the current end, in the future, and at most 30 days "
        "after `starts_at`. ISO-8601 with an offset."
    )


def _transition_view(
    name: str,
    action,
    input_serializer=EmptyInput,
    throttled: bool = True,
    *,
    summary: str,
    description: str,
    errors: tuple[ErrorKind, ...] = (),
    examples: tuple[OpenApiExample, ...] = (),
):
    base = BookingThrottled if throttled else ApiView

    class TransitionView(base):
        @api_operation(
            operation_id=f"bookings_{name.replace('-', '_')}",
            tags=["bookings"],
            summary=summary,
            description=description,
            request=input_serializer,
            responses={200: OpenApiResponse(BookingOutput, description="The booking, updated.")},
            errors=[
                *DRIVER,
                BOOKING_NOT_FOUND,
                _BODY_INVALID,
                *JSON_BODY,
                INVALID_TRANSITION,
                *errors,
            ],
            examples=[*examples, _BOOKING_EXAMPLE],
        )
        def post(self, request, public_id):
            booking = selectors.booking_get_for_driver(driver=request.user, public_id=public_id)
            data = input_serializer(data=request.data)
            data.is_valid(raise_exception=True)
            # The service returns the booking as it committed, relations loaded.
            booking = action(booking=booking, actor=request.user, **data.validated_data)
            return Response(BookingOutput(booking).data)

    TransitionView.__name__ = f"Booking{name.title().replace('-', '')}View"
    return TransitionView


_NO_BODY = "No body is needed (an empty JSON object is accepted)."
_EMPTY_BODY = (OpenApiExample("No body, or an empty object", value={}, request_only=True),)
BookingConfirmView = _transition_view(
    "confirm",
    services.booking_confirm,
    summary="Confirm a held booking",
    description="`held` → `confirmed`, only before `hold_expires_at`; sends the confirmation "
    f"e-mail. {_NO_BODY}",
    examples=_EMPTY_BODY,
)
BookingCancelView = _transition_view(
    "cancel",
    services.booking_cancel,
    CancelInput,
    summary="Cancel a booking",
    description="`held` or `confirmed` → `cancelled`. The rate board's cancellation policy "
    "sets `cancellation_fee` (free until some hours before `starts_at`, then a percent of the "
    "price or a fixed fee); `refund_due` is the price less the fee. Sends a cancellation "
    "e-mail. The body is optional.",
    errors=(
        _BODY_INVALID.but(
            when="`reason` is longer than 255 characters or not a string, or the body has "
            "another field.",
            fields={"reason": ["Ensure this field has no more than 255 characters."]},
        ),
    ),
    examples=(OpenApiExample("A reason", value={"reason": "Plans changed."}, request_only=True),),
)
BookingExtendView = _transition_view(
    "extend",
    services.booking_extend,
    ExtendInput,
    summary="Extend a booking on the same spot",
    description="Moves `ends_at` later on the same spot; the state is kept (`held`, "
    "`confirmed` or `active`) and the price is worked out again for the whole window. The "
    "spot or the vehicle being booked after the current end is a `409`.",
    errors=(
        _BODY_INVALID.but(
            when="`ends_at` is missing, malformed or without an offset, not after the current "
            "end, in the past, or more than 30 days after `starts_at`.",
            fields={"ends_at": ["Must be later than the current end."]},
        ),
        NO_AVAILABILITY.but(
            when="The spot is booked after the current end (or the facility no longer takes "
            "bookings).",
            message="The spot is booked after the current end.",
        ),
        VEHICLE_BUSY.but(when="The vehicle is booked after the current end."),
    ),
    examples=(
        OpenApiExample(
            "One hour more", value={"ends_at": "2026-05-01T13:00:00+03:00"}, request_only=True
        ),
    ),
)
BookingCheckInView = _transition_view(
    "check-in",
    services.booking_check_in,
    throttled=False,
    summary="Check in",
    description="`confirmed` → `active`, from 15 minutes before `starts_at` until `ends_at`; "
    f"sets `checked_in_at`. {_NO_BODY}",
    examples=_EMPTY_BODY,
)
BookingCheckOutView = _transition_view(
    "check-out",
    services.booking_check_out,
    throttled=False,
    summary="Check out",
    description="`active` → `completed`; sets `checked_out_at`. After `ends_at` plus the "
    "plan's grace minutes, `overstay_fee` is the price of the window from `ends_at` to now. "
    f"{_NO_BODY}",
    examples=_EMPTY_BODY,
)
# POST bookings/{id}/<action>/
TRANSITION_VIEWS = {
    "confirm": BookingConfirmView,
    "cancel": BookingCancelView,
    "extend": BookingExtendView,
    "check-in": BookingCheckInView,
    "check-out": BookingCheckOutView,
}


class GateEventInput(StrictSerializer):
    facility = StrictIntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of a facility of your operator."
    )
    plate = StrictCharField(
        max_length=20,
        trim_whitespace=False,
        help_text="As read at the gate, at most 20 characters; matched after normalisation "
        "(spaces and dashes ignored, upper case).",
    )
    direction = serializers.ChoiceField(choices=GateDirection.choices)


GATE_REASONS = [
    (
        GateReason.CHECKED_IN,
        "Opened: the earliest confirmed booking in its check-in window was checked in.",
    ),
    (GateReason.CHECKED_OUT, "Opened: the active booking was checked out."),
    (GateReason.ALREADY_INSIDE, "Denied: the plate has an active booking here."),
    (GateReason.TOO_EARLY, "Denied: confirmed bookings exist, all before their check-in window."),
    (GateReason.EXPIRED, "Denied: confirmed bookings exist, none in its check-in window."),
    (GateReason.NOT_CONFIRMED, "Denied: only held bookings."),
    (GateReason.NO_BOOKING, "Denied: no live booking for this plate here."),
    (GateReason.NO_ACTIVE_BOOKING, "Denied at exit: no active booking and no permit."),
    (GateReason.PERMIT_ENTRY, "Opened: a permit valid now for this plate (no booking opened)."),
    (GateReason.PERMIT_EXIT, "Opened at exit: a permit's vehicle leaves."),
    (GateReason.PERMIT_OUTSIDE_HOURS, "Denied: outside the permit product's hours."),
    (GateReason.PERMIT_VEHICLE_INSIDE, "Denied: another vehicle of the permit is inside."),
    (GateReason.PERMIT_CAPACITY_FULL, "Denied: the product's holders fill its allocated spaces."),
    (GateReason.PERMIT_SUSPENDED, "Denied: the permit is suspended."),
    (GateReason.PERMIT_NOT_STARTED, "Denied: the permit's period has not started."),
    (GateReason.PERMIT_EXPIRED, "Denied: the permit's period is over."),
]


class GateEventOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=GateAction.choices)
    reason = serializers.ChoiceField(choices=GATE_REASONS)
    booking = GateBookingOutput(
        allow_null=True,
        help_text="The booking checked in or out, or the earliest one when too early or "
        "expired; otherwise null.",
    )
    permit = GatePermitOutput(
        allow_null=True,
        help_text="The permit that opened the gate, or the one refused (the reason says "
        "why); null when the decision was a booking's or nothing matched.",
    )


class GateEventView(ApiView):
    # Any account may knock; gate_facility_for_device admits only the operator's devices.
    permission_classes = [IsAuthenticated]
    throttle_classes = [GateThrottle]

    @api_operation(
        operation_id="operator_gate_events",
        tags=["operator"],
        summary="Report a plate at a gate",
        description="For gate-device accounts of the facility's operator. An entry checks in "
        "the plate's confirmed booking that is inside its check-in window; when no booking "
        "opens the gate (and the plate is not inside on one), a permit valid now for this "
        "facility does, inside its product's hours, when no other vehicle of the permit is "
        "inside and fewer of the product's holders are inside than its allocated spaces. An "
        "exit checks out the active booking (with any overstay fee), else lets a permit's "
        "vehicle out and closes its presence. The answer says whether to open and why. "
        "Every event is recorded. Any other account, and a facility id that is unknown, "
        "inactive or another operator's, get the same `403`, so ids reveal nothing.",
        request=GateEventInput,
        responses={200: OpenApiResponse(GateEventOutput, description="Whether to open, and why.")},
        errors=[
            NOT_AUTHENTICATED,
            AUTHENTICATION_FAILED,
            domain_error(
                PermissionDenied,
                "The account is not a gate device of this facility's operator, or the "
                "facility is unknown or inactive.",
                message="This device may not operate that facility's gates.",
            ),
            VALIDATION.but(fields={"direction": ['"sideways" is not a valid choice.']}),
            *JSON_BODY,
            INVALID_TRANSITION.but(
                when="Another event or call changed the booking at the same moment; retry.",
                message="Cannot check in a booking that is active.",
                fields={"status": ["active"]},
            ),
        ],
        examples=[
            OpenApiExample(
                "An entry",
                value={"facility": 1, "plate": "ABC 123", "direction": "entry"},
                request_only=True,
            ),
            OpenApiExample(
                "Opened",
                value={
                    "action": "open",
                    "reason": "checked_in",
                    "booking": {
                        "id": _BOOKING["id"],
                        "reference": "7KQ2M9XD",
                        "status": "active",
                        "overstay_fee": "0.00",
                        "currency": "EUR",
                    },
                    "permit": None,
                },
                response_only=True,
            ),
            OpenApiExample(
                "Denied",
                value={"action": "deny", "reason": "no_booking", "booking": None, "permit": None},
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        data = GateEventInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        facility = gate_facility_for_device(device=request.user, facility_id=v["facility"])
        decision = gate_event_process(
            device=request.user, facility=facility, plate=v["plate"], direction=v["direction"]
        )
        return Response(
            GateEventOutput(
                {
                    "action": decision.action,
                    "reason": decision.reason,
                    "booking": decision.booking,
                    "permit": decision.permit,
                }
            ).data
        )
