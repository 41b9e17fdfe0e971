"""Drivers' bookings and gate devices' events."""

from __future__ import annotations

import re

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from bookings import selectors, services
from bookings.gate import gate_event_process, gate_facility_for_device
from bookings.models import GateDirection
from bookings.states import BookingStatus
from facilities.models import SpotKind
from parkme.api.fields import AwareDateTimeField, OffsetDateTimeField, StrictSerializer
from parkme.api.pagination import StandardPagination
from parkme.api.schema import paginated
from parkme.api.throttles import BookingBurstThrottle, BookingThrottle, GateThrottle, UserThrottle
from parkme.api.views import ApiView
from parkme.errors import ValidationFailed

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


class BookingFacilityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    timezone = serializers.CharField()


class BookingSpotOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    kind = serializers.CharField()
    zone = serializers.CharField(source="zone.name")
    level = serializers.IntegerField(source="zone.level")


class BookingVehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    plate = serializers.CharField()


class BookingOutput(serializers.Serializer):
    """Times are rendered in the facility's local time (the same instants, with offset)."""

    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=BookingStatus.choices)
    facility = BookingFacilityOutput()
    spot = BookingSpotOutput()
    spot_kind = serializers.CharField()
    vehicle = BookingVehicleOutput(allow_null=True)
    starts_at = OffsetDateTimeField()
    ends_at = OffsetDateTimeField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    access_code = serializers.CharField()
    hold_expires_at = OffsetDateTimeField(allow_null=True)
    checked_in_at = OffsetDateTimeField(allow_null=True)
    checked_out_at = OffsetDateTimeField(allow_null=True)
    overstay_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    created_at = OffsetDateTimeField()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        tz = instance.facility.tz
        for field in (
            "starts_at",
            "ends_at",
            "hold_expires_at",
            "checked_in_at",
            "checked_out_at",
            "created_at",
        ):
            value = getattr(instance, field)
            data[field] = value.astimezone(tz).isoformat() if value else None
        return data


class BookingCreateInput(StrictSerializer):
    facility = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    vehicle = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    starts_at = AwareDateTimeField()
    ends_at = AwareDateTimeField()
    spot_kind = serializers.ChoiceField(choices=SpotKind.choices, required=False, allow_null=True)
    hold = serializers.BooleanField(default=False)


class BookingListQuery(serializers.Serializer):
    status = serializers.MultipleChoiceField(choices=BookingStatus.choices, required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


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


class BookingListCreateView(ApiView):
    def get_throttles(self):
        if self.request.method == "POST":
            return [t() for t in BookingThrottled.throttle_classes]
        return super().get_throttles()

    @extend_schema(
        parameters=[BookingListQuery],
        responses=paginated(BookingOutput(many=True), "PaginatedBookings"),
        operation_id="bookings_list",
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

    @extend_schema(
        request=BookingCreateInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retries with the same key and body return the same booking.",
            )
        ],
        responses={201: BookingOutput},
        operation_id="bookings_create",
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
            ),
            idempotency_key=key,
        )
        response = Response(BookingOutput(booking).data, status=status.HTTP_201_CREATED)
        if not created:
            response["Idempotent-Replayed"] = "true"
        return response


class BookingDetailView(ApiView):
    @extend_schema(responses=BookingOutput, operation_id="bookings_retrieve")
    def get(self, request, public_id):
        booking = selectors.booking_get_for_driver(driver=request.user, public_id=public_id)
        return Response(BookingOutput(booking).data)


class EmptyInput(StrictSerializer):
    pass


class CancelInput(StrictSerializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ExtendInput(StrictSerializer):
    ends_at = AwareDateTimeField()


def _transition_view(name: str, action, input_serializer=EmptyInput, throttled: bool = True):
    base = BookingThrottled if throttled else ApiView

    class TransitionView(base):
        @extend_schema(
            request=input_serializer,
            responses=BookingOutput,
            operation_id=f"bookings_{name.replace('-', '_')}",
        )
        def post(self, request, public_id):
            booking = selectors.booking_get_for_driver(driver=request.user, public_id=public_id)
            data = input_serializer(data=request.data if request.data else {})
            data.is_valid(raise_exception=True)
            # The service returns the booking as it committed, relations loaded.
            booking = action(booking=booking, actor=request.user, **data.validated_data)
            return Response(BookingOutput(booking).data)

    TransitionView.__name__ = f"Booking{name.title().replace('-', '')}View"
    return TransitionView


BookingConfirmView = _transition_view("confirm", services.booking_confirm)
BookingCancelView = _transition_view("cancel", services.booking_cancel, CancelInput)
BookingExtendView = _transition_view("extend", services.booking_extend, ExtendInput)
BookingCheckInView = _transition_view("check-in", services.booking_check_in, throttled=False)
BookingCheckOutView = _transition_view("check-out", services.booking_check_out, throttled=False)
# POST bookings/{id}/<action>/
TRANSITION_VIEWS = {
    "confirm": BookingConfirmView,
    "cancel": BookingCancelView,
    "extend": BookingExtendView,
    "check-in": BookingCheckInView,
    "check-out": BookingCheckOutView,
}


class GateEventInput(StrictSerializer):
    facility = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    plate = serializers.CharField(max_length=20)
    direction = serializers.ChoiceField(choices=GateDirection.choices)


class GateBookingOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    status = serializers.CharField()
    overstay_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()


class GateEventOutput(serializers.Serializer):
    action = serializers.ChoiceField(choices=["open", "deny"])
    reason = serializers.CharField()
    booking = GateBookingOutput(allow_null=True)


class GateEventView(ApiView):
    # Any account may knock; gate_facility_for_device admits only the operator's devices.
    permission_classes = [IsAuthenticated]
    throttle_classes = [GateThrottle]

    @extend_schema(
        request=GateEventInput, responses=GateEventOutput, operation_id="operator_gate_events"
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
                {"action": decision.action, "reason": decision.reason, "booking": decision.booking}
            ).data
        )
