"""The operator API beyond the gate: the entitlement check enforcement calls."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from bookings.entitlements import EntitlementReason, entitlement_check, entitlement_facility
from bookings.gate import GateReason
from parkme.api.fields import (
    AwareDateTimeField,
    OffsetDateTimeField,
    QuerySerializer,
    StrictCharField,
)
from parkme.api.schema import (
    AUTHENTICATION_FAILED,
    NOT_AUTHENTICATED,
    VALIDATION,
    api_operation,
    domain_error,
)
from parkme.api.throttles import GateThrottle
from parkme.api.views import ApiView
from parkme.errors import PermissionDenied


class EntitlementQuery(QuerySerializer):
    facility = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="Id of a facility of your operator."
    )
    plate = StrictCharField(
        max_length=20,
        trim_whitespace=False,
        help_text="The plate as read, at most 20 characters; matched after normalisation "
        "(spaces and dashes ignored, upper case).",
    )
    at = AwareDateTimeField(
        required=False, help_text="The moment to check, with its offset; default now."
    )

    def validate_plate(self, value: str) -> str:
        if not value.strip(" -"):
            raise serializers.ValidationError("Give a plate.")
        return value


ENTITLEMENT_REASONS = [
    (EntitlementReason.BOOKING, "Allowed: a confirmed or active booking covers the moment."),
    (EntitlementReason.BOOKING_GRACE, "Allowed: the booking ended less than the grace ago."),
    (EntitlementReason.PERMIT, "Allowed: a valid permit, inside its product's hours."),
    (EntitlementReason.PERMIT_GRACE, "Allowed: the permit's hours ended less than the grace ago."),
    (EntitlementReason.BOOKING_NOT_STARTED, "Not allowed: the booking has not started yet."),
    (EntitlementReason.BOOKING_ENDED, "Not allowed: the booking (and its grace) has ended."),
    (GateReason.PERMIT_OUTSIDE_HOURS, "Not allowed: outside the permit's hours."),
    (GateReason.PERMIT_SUSPENDED, "Not allowed: the permit is suspended."),
    (GateReason.PERMIT_NOT_STARTED, "Not allowed: the permit's period has not started."),
    (GateReason.PERMIT_EXPIRED, "Not allowed: the permit's period is over."),
    (EntitlementReason.NO_ENTITLEMENT, "Not allowed: no booking or permit for this plate here."),
]


class EntitlementOutputInner(serializers.Serializer):
    type = serializers.ChoiceField(choices=[("booking", "booking"), ("permit", "permit")])
    reference = serializers.CharField()
    status = serializers.CharField(help_text="The booking's or the permit's status.")
    valid_until = OffsetDateTimeField(
        allow_null=True,
        help_text="When the entitlement stops covering the plate (before any grace): the "
        "booking's end, or the end of the permit's current hours (never after its period); "
        "null when it does not cover the moment asked.",
    )


class EntitlementOutput(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=ENTITLEMENT_REASONS)
    plate = serializers.CharField(help_text="The plate as normalised.")
    at = OffsetDateTimeField(help_text="The moment checked, in the facility's offset.")
    entitlement = EntitlementOutputInner(
        allow_null=True,
        help_text="The booking or permit that allows the plate, or the nearest one that "
        "does not (why not is `reason`); null when there is none.",
    )
    grace_minutes = serializers.IntegerField(
        help_text="The grace this facility allows after a booking or permit hours end."
    )
    grace_applied = serializers.BooleanField(
        help_text="True when the plate is allowed only thanks to the grace."
    )


def _entitlement(check, tz) -> dict | None:
    if check.booking is not None:
        thing, kind = check.booking, "booking"
    elif check.permit is not None:
        thing, kind = check.permit, "permit"
    else:
        return None
    return {
        "type": kind,
        "reference": thing.reference,
        "status": thing.status,
        "valid_until": check.valid_until.astimezone(tz) if check.valid_until else None,
    }


class EntitlementView(ApiView):
    # Any account may ask; entitlement_facility admits only the operator's staff and devices.
    permission_classes = [IsAuthenticated]
    throttle_classes = [GateThrottle]

    @api_operation(
        operation_id="operator_entitlements",
        tags=["operator"],
        summary="Is this plate allowed to park here?",
        description="For admins, attendants and gate devices of the facility's operator: "
        "whether the plate may be parked at the facility at `at` (default now), and on what. "
        "A confirmed or active booking here covers it from its check-in opening (15 minutes "
        "before the start) to its end plus the grace of its rate version; else a permit "
        "valid then (active, or cancelled but still in its period) covers it inside its "
        "product's hours, or up to the grace after them. Bookings are checked first. Every "
        "call is recorded as a plate look-up. Any other account, and a facility id that is "
        "unknown or another operator's, get the same `403`.",
        parameters=[EntitlementQuery],
        responses={200: OpenApiResponse(EntitlementOutput, description="The answer.")},
        errors=[
            NOT_AUTHENTICATED,
            AUTHENTICATION_FAILED,
            domain_error(
                PermissionDenied,
                "The account is not staff or a device of this facility's operator, or the "
                "facility is unknown.",
                message="You may not check plates at that facility.",
            ),
            VALIDATION.but(
                when="A parameter is missing or malformed (a naive `at` included).",
                fields={"plate": ["This field is required."]},
            ),
        ],
        examples=[
            OpenApiExample(
                "A permit holder inside the hours",
                value={
                    "allowed": True,
                    "reason": "permit",
                    "plate": "ABC123",
                    "at": "2026-05-04T09:30:00+03:00",
                    "entitlement": {
                        "type": "permit",
                        "reference": "P7KQ2M9X",
                        "status": "active",
                        "valid_until": "2026-05-04T20:00:00+03:00",
                    },
                    "grace_minutes": 15,
                    "grace_applied": False,
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = EntitlementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        facility = entitlement_facility(user=request.user, facility_id=params["facility"])
        at = params.get("at") or timezone.now()
        check = entitlement_check(
            user=request.user, facility=facility, plate=params["plate"], at=at
        )
        tz = facility.tz
        return Response(
            EntitlementOutput(
                {
                    "allowed": check.allowed,
                    "reason": check.reason,
                    "plate": check.plate,
                    "at": at.astimezone(tz),
                    "entitlement": _entitlement(check, tz),
                    "grace_minutes": check.grace_minutes,
                    "grace_applied": check.grace_applied,
                }
            ).data
        )
