"""Facility quotes: public. (Search and detail show availability, which depends on
bookings: they live in bookings.api.)"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from facilities import selectors
from facilities.api.serializers import QuoteOutput, QuoteQuery
from parkme.api.views import ApiView


class FacilityQuoteView(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[QuoteQuery], responses=QuoteOutput, operation_id="facilities_quote")
    def get(self, request: Request, facility_id: int) -> Response:
        query = QuoteQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        quote = selectors.facility_quote(facility_id=facility_id, window=query.window())
        return Response(QuoteOutput(quote).data)
