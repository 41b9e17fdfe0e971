"""How bookings, permits and gate events look to the outside: the driver and operator APIs
render them with these serializers, and webhooks send the same JSON (``bookings.webhook_events``).

They only read the instance they are given (relations the callers load), so any module may
use them without pulling in the views.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from bookings.models import Permit
from bookings.permit_hours import hours_of, hours_text
from bookings.states import BookingStatus, PermitStatus
from facilities.api.pricing_serializers import PriceLineOutput, SpotKindField
from facilities.models import SpotKind
from parkme.api.fields import OffsetDateTimeField, OutputSerializer

_MONEY = {"max_digits": 10, "decimal_places": 2}
HOURS_TEXT = 'The hours in words: "24/7", "Mon–Fri 06:00–20:00", "Daily 17:00–09:00 (next day)".'


# --- bookings -----------------------------------------------------------------------------


class BookingFacilityOutput(OutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    timezone = serializers.CharField()


class BookingSpotOutput(OutputSerializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    kind = SpotKindField()
    zone = serializers.CharField(source="zone.name", help_text="The zone's name.")
    level = serializers.IntegerField(source="zone.level")


class BookingVehicleOutput(OutputSerializer):
    id = serializers.IntegerField()
    plate = serializers.CharField()


class BookingOutput(OutputSerializer):
    """Times are rendered in the facility's local time (the same instants, with offset)."""

    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField(help_text="8 characters, easy to read out at a gate.")
    status = serializers.ChoiceField(choices=BookingStatus.choices)
    facility = BookingFacilityOutput()
    spot = BookingSpotOutput()
    spot_kind = serializers.ChoiceField(choices=SpotKind.choices)
    vehicle = BookingVehicleOutput(
        allow_null=True, help_text="Null once the booking's personal data has been removed."
    )
    starts_at = OffsetDateTimeField()
    ends_at = OffsetDateTimeField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    access_code = serializers.CharField(help_text="6 digits.")
    hold_expires_at = OffsetDateTimeField(
        allow_null=True, help_text="Set only while the booking is `held`."
    )
    checked_in_at = OffsetDateTimeField(allow_null=True)
    checked_out_at = OffsetDateTimeField(allow_null=True)
    overstay_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    price_vat = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="The VAT included in `price`."
    )
    price_lines = PriceLineOutput(
        many=True, help_text="The itemised price, as quoted; the lines add up to `price`."
    )
    rate_version = serializers.IntegerField(
        source="rate_version_id",
        allow_null=True,
        help_text="The rate board that priced the booking (null for bookings made before "
        "rate boards).",
    )
    cancellation_fee = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        help_text="Charged by the board's cancellation policy when the booking was cancelled.",
    )
    refund_due = serializers.SerializerMethodField(
        help_text="For a cancelled booking, `price` less `cancellation_fee`; else 0.00."
    )
    created_at = OffsetDateTimeField()

    @extend_schema_field(serializers.DecimalField(max_digits=10, decimal_places=2))
    def get_refund_due(self, booking) -> str:
        due = booking.price - booking.cancellation_fee
        return str(due if booking.status == BookingStatus.CANCELLED else Decimal("0.00"))

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


class GateBookingOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=BookingStatus.choices)
    overstay_fee = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()


# --- permits ------------------------------------------------------------------------------


class PermitFacilityOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    timezone = serializers.CharField()


class PermitProductSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    spot_kind = SpotKindField()
    hours_text = serializers.CharField(help_text=HOURS_TEXT)


class PermitOutput(serializers.Serializer):
    """Times are in the facility's offset; the period is half-open, ``[valid_from,
    valid_to)``, from local midnight to local midnight a calendar month later."""

    id = serializers.UUIDField()
    reference = serializers.CharField(help_text="8 characters, starting with P.")
    status = serializers.ChoiceField(choices=PermitStatus.choices)
    product = PermitProductSummaryOutput()
    facility = PermitFacilityOutput()
    plates = serializers.ListField(child=serializers.CharField(), help_text="As typed.")
    valid_from = OffsetDateTimeField(help_text="Start of the current period: local midnight.")
    valid_to = OffsetDateTimeField(
        help_text="End of the current period (exclusive): local midnight a calendar month "
        "after `valid_from`, on the day the permit first started where the month has it."
    )
    auto_renew = serializers.BooleanField(
        help_text="Renewed for the next month, at the product's price then, shortly before "
        "`valid_to`; false once cancelled."
    )
    price = serializers.DecimalField(
        **_MONEY, help_text="What the current period cost (a whole month), VAT included."
    )
    price_vat = serializers.DecimalField(**_MONEY, help_text="The VAT included in `price`.")
    currency = serializers.CharField()
    status_reason = serializers.CharField(
        help_text="Why the permit is in its status (a cancellation, a suspension, a declined "
        "renewal); may be empty."
    )
    created_at = OffsetDateTimeField()

    def to_representation(self, instance: Permit) -> dict[str, Any]:
        product = instance.product
        facility = product.facility
        tz = facility.tz
        return super().to_representation(
            {
                "id": instance.public_id,
                "reference": instance.reference,
                "status": instance.status,
                "product": {
                    "id": product.pk,
                    "name": product.name,
                    "spot_kind": product.spot_kind,
                    "hours_text": hours_text(hours_of(product.hours.all())),
                },
                "facility": facility,
                "plates": list(instance.plates),
                "valid_from": instance.valid_from.astimezone(tz),
                "valid_to": instance.valid_to.astimezone(tz),
                "auto_renew": instance.auto_renew,
                "price": instance.price,
                "price_vat": instance.price_vat,
                "currency": instance.currency,
                "status_reason": instance.status_reason,
                "created_at": instance.created_at.astimezone(tz),
            }
        )


class GatePermitOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=PermitStatus.choices)
    product = serializers.CharField(source="product.name")
    valid_to = serializers.SerializerMethodField(
        help_text="End of the permit's current period, in the facility's offset."
    )

    def get_valid_to(self, permit) -> str:
        return permit.valid_to.astimezone(permit.product.facility.tz).isoformat()
