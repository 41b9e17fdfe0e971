"""Facility quotes: public. (Search and detail show availability, which depends on
bookings: they live in bookings.api.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from facilities import selectors
from facilities.api.pricing_serializers import QuoteOutput
from facilities.api.serializers import FACILITY_NOT_FOUND, WINDOW_INVALID, QuoteQuery
from parkme.api.schema import PUBLIC, api_operation, domain_error
from parkme.api.views import ApiView
from parkme.errors import NoRateInForce

NO_RATE_IN_FORCE = domain_error(
    NoRateInForce,
    "No rate version of the facility is in force at the window's start.",
)


class FacilityQuoteView(ApiView):
    permission_classes = [AllowAny]

    @api_operation(
        operation_id="facilities_quote",
        tags=["facilities"],
        summary="Price a window at a facility",
        description="The price of parking at this facility for the window and spot kind "
        "(standard by default), by the rate board in force at the window's start, in the "
        "facility's local time: one line per stretch of one tariff (weekday bands charged "
        "per started unit), caps (overnight and daily maxima) as negative lines, early bird, "
        "special days, spot-kind adjustments and the minimum charge; the lines add up to "
        "`price`, VAT included (`net` + `vat`). `quote_token`, sent with `POST bookings/` "
        "before `expires_at`, keeps this price even if the board changes meanwhile. "
        "Public; anonymous callers are throttled per IP.",
        parameters=[QuoteQuery],
        responses={200: OpenApiResponse(QuoteOutput, description="The itemised price.")},
        errors=[*PUBLIC, WINDOW_INVALID, FACILITY_NOT_FOUND, NO_RATE_IN_FORCE],
        examples=[
            OpenApiExample(
                "Two hours on a weekday morning",
                value={
                    "facility": 1,
                    "starts_at": "2026-05-04T09:00:00+03:00",
                    "ends_at": "2026-05-04T11:00:00+03:00",
                    "spot_kind": "standard",
                    "currency": "EUR",
                    "price": "8.00",
                    "net": "6.37",
                    "vat": "1.63",
                    "vat_percent": "25.50",
                    "lines": [
                        {
                            "label": "Day",
                            "starts_at": "2026-05-04T09:00:00+03:00",
                            "ends_at": "2026-05-04T11:00:00+03:00",
                            "units": 2,
                            "unit_price": "4.00",
                            "amount": "8.00",
                        }
                    ],
                    "rules": ["bands"],
                    "rate_version": {
                        "id": 1,
                        "label": "Standard board",
                        "valid_from": "2026-01-01T00:00:00+02:00",
                        "valid_to": None,
                    },
                    "quote_token": "eyJmIjoxLCJz…",
                    "expires_at": "2026-05-01T12:15:00+03:00",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request, facility_id: int) -> Response:
        query = QuoteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = selectors.facility_quote(
            facility_id=facility_id,
            window=query.window(),
            kind=query.validated_data.get("spot_kind"),
        )
        return Response(QuoteOutput(quote).data)
