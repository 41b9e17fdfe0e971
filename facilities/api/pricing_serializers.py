"""Response shapes of prices and rate boards: quotes, search prices, the detail page's board,
and the lines a booking keeps."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from facilities.models import SpotKind
from parkme.api.fields import OffsetDateTimeField, OutputSerializer
from parkme.api.schema import enum_ref

_MONEY = {"max_digits": 10, "decimal_places": 2}


@extend_schema_field(enum_ref("SpotKindEnum", SpotKind.choices))
class SpotKindField(serializers.ChoiceField):
    """A spot kind in an answer (the SpotKindEnum component)."""

    def __init__(self, **kwargs):
        super().__init__(choices=SpotKind.choices, **kwargs)


class PriceLineOutput(OutputSerializer):
    label = serializers.CharField(help_text='What the line charges, e.g. "Day", "Daily maximum".')
    starts_at = OffsetDateTimeField(help_text="Start of the period, in the facility's time.")
    ends_at = OffsetDateTimeField(help_text="End of the period, in the facility's time.")
    units = serializers.IntegerField(help_text="Started units charged (1 for flat lines).")
    unit_price = serializers.DecimalField(**_MONEY)
    amount = serializers.DecimalField(
        **_MONEY, help_text="units × unit price; negative for a cap. Lines add up to the total."
    )


class RateVersionRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)


class QuoteOutput(serializers.Serializer):
    facility = serializers.IntegerField(source="facility.id")
    starts_at = OffsetDateTimeField(source="window.starts_at")
    ends_at = OffsetDateTimeField(source="window.ends_at")
    spot_kind = SpotKindField(source="kind")
    currency = serializers.CharField(source="price.currency")
    price = serializers.DecimalField(
        **_MONEY, source="price.total", help_text="What the driver pays, VAT included."
    )
    net = serializers.DecimalField(**_MONEY, source="price.net")
    vat = serializers.DecimalField(**_MONEY, source="price.vat")
    vat_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, source="price.vat_percent"
    )
    lines = PriceLineOutput(many=True, source="price.lines")
    rules = serializers.ListField(
        child=serializers.CharField(),
        source="price.rules",
        help_text="The board's rules that shaped the price (bands, daily_max, early_bird, …).",
    )
    rate_version = RateVersionRefOutput(source="version")
    quote_token = serializers.CharField(
        source="token",
        help_text="Send it with POST bookings/ to keep this price until expires_at.",
    )
    expires_at = OffsetDateTimeField()


class TariffOutput(serializers.Serializer):
    starts = serializers.CharField(help_text="HH:MM, local.")
    ends = serializers.CharField(allow_null=True, help_text="HH:MM, local; null: midnight.")
    unit_minutes = serializers.IntegerField(help_text="Charged per started unit: 15, 30 or 60.")
    unit_price = serializers.DecimalField(**_MONEY)
    label = serializers.CharField()


class BandOutput(TariffOutput):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday.")


class OvernightOutput(serializers.Serializer):
    starts = serializers.CharField(help_text="HH:MM, local, in the evening.")
    ends = serializers.CharField(help_text="HH:MM, local, the next morning.")
    maximum = serializers.DecimalField(**_MONEY)


class EarlyBirdOutput(serializers.Serializer):
    label = serializers.CharField()
    enter_from = serializers.CharField()
    enter_until = serializers.CharField()
    leave_from = serializers.CharField()
    leave_until = serializers.CharField()
    price = serializers.DecimalField(**_MONEY)
    weekdays = serializers.ListField(child=serializers.IntegerField(), help_text="0 = Monday.")


class SpecialDayOutput(serializers.Serializer):
    label = serializers.CharField()
    first = serializers.DateField()
    last = serializers.DateField()
    flat_price = serializers.DecimalField(**_MONEY, allow_null=True)
    bands = TariffOutput(many=True)


class KindAdjustmentOutput(serializers.Serializer):
    kind = SpotKindField()
    per_hour = serializers.DecimalField(**_MONEY)
    percent = serializers.DecimalField(max_digits=6, decimal_places=2)


class CancellationOutput(serializers.Serializer):
    free_until_hours_before = serializers.IntegerField(source="cancel_free_hours")
    fee_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, source="cancel_fee_percent", allow_null=True
    )
    fee_fixed = serializers.DecimalField(**_MONEY, source="cancel_fee_fixed", allow_null=True)


class RateBoardOutput(serializers.Serializer):
    """A rate version as a board a driver can read (from its compiled rules)."""

    id = serializers.IntegerField()
    label = serializers.CharField()
    valid_from = serializers.DateTimeField()
    valid_to = serializers.DateTimeField(allow_null=True)
    currency = serializers.CharField()
    vat_percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    grace_minutes = serializers.IntegerField()
    daily_max = serializers.DecimalField(**_MONEY, allow_null=True)
    minimum_charge = serializers.DecimalField(**_MONEY)
    overnight = OvernightOutput(source="compiled.overnight", allow_null=True)
    cancellation = CancellationOutput(source="*")
    bands = BandOutput(many=True, source="compiled.bands")
    early_birds = EarlyBirdOutput(many=True, source="compiled.early_birds")
    special_days = SpecialDayOutput(many=True, source="compiled.special_days")
    kind_adjustments = KindAdjustmentOutput(many=True, source="compiled.kind_adjustments")
